// The KV block pool: fixed-size blocks with reference counts, one free list in
// LRU order, and the prefix-cache index (full-block key -> block id).
//
// A block is free when its refcount is 0. A free block that carries a key
// ("cached") keeps its KV and can be revived by a prefix hit until take_free()
// evicts it. Free list order, front = next to be taken:
//   [plain free blocks ...][cached blocks, least recently freed first ...]
// so plain blocks are used before any cached one is evicted.
#pragma once
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "scheduler/block_hash.h"
#include "scheduler/types.h"

namespace loom::sched {

class BlockPool {
 public:
  explicit BlockPool(int num_blocks);

  int num_blocks() const { return static_cast<int>(blocks_.size()); }
  int num_free() const { return num_free_; }  // refcount 0, cached or not
  int num_used() const { return num_blocks() - num_free_; }
  int num_cached_free() const { return num_cached_free_; }            // refcount 0 and keyed
  int num_cached() const { return static_cast<int>(cache_.size()); }  // keyed, any refcount

  // Takes the front of the free list (evicting its key, if any); refcount 1.
  BlockId take_free();
  void ref(BlockId id);    // +1; a free cached block leaves the free list
  void unref(BlockId id);  // -1; at 0 it joins the free list (see order above)

  int refcount(BlockId id) const;
  bool is_cached(BlockId id) const;
  bool is_free(BlockId id) const { return refcount(id) == 0; }

  // The block holding exactly this key, if cached (used or free).
  std::optional<BlockId> find_cached(const BlockKey& key) const;
  // Keys a used block. False (and no change) if another block already holds
  // the key or this block already has one.
  bool register_cached(BlockId id, BlockKey key);

 private:
  struct Block {
    int refcount = 0;
    BlockId prev = -1;
    BlockId next = -1;
    std::optional<BlockKey> key;
  };
  void check_id(BlockId id) const;
  void unlink(BlockId id);
  void link_front(BlockId id);
  void link_back(BlockId id);

  std::vector<Block> blocks_;
  BlockId head_ = -1;
  BlockId tail_ = -1;
  int num_free_ = 0;
  int num_cached_free_ = 0;
  std::unordered_map<BlockHash, BlockId> cache_;
};

}  // namespace loom::sched
