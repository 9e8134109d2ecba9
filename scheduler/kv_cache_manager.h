// Per-sequence block tables over one BlockPool, with few verbs:
//   find_prefix -> can_allocate -> allocate     (a sequence's first chunk)
//   can_append  -> append_slots                 (every later chunk / decode)
//   commit                                      (after a step: key full blocks)
//   fork, free
// Positions map to blocks as: position p lives in table[p / block_size] at
// slot p % block_size. A table always covers exactly the positions written
// so far (plus the chunk just planned).
//
// Optional window pool (models with sliding-window layers, e.g. Gemma 3): a
// second pool whose blocks hold only the sliding layers' KV, and a second
// table per sequence over it. After each commit the window table drops
// (-1, block unreferenced) every block wholly before the first position a
// later query can read, so a sequence holds at most keep_tokens + one step's
// tokens of it. The full pool (and everything about capacity: reservations,
// victims, the livelock rule) is unchanged; the window pool is sized by the
// backend so every running sequence always fits (SchedulerConfig::validate).
#pragma once
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "scheduler/block_hash.h"
#include "scheduler/block_pool.h"
#include "scheduler/types.h"

namespace loom::sched {

// The sliding-window layers' pool: num_blocks blocks; a query at position q
// may read keys from q - keep_tokens + 1 on (the backend's window plus its
// kernels' alignment slack). num_blocks 0: no window pool.
struct WindowPoolConfig {
  int num_blocks = 0;
  int keep_tokens = 0;
};

// What a new sequence can reuse from the prefix cache.
struct PrefixHit {
  std::vector<BlockId> blocks;    // leading full blocks, in position order
  std::vector<BlockHash> hashes;  // their chained hashes
  int num_tokens = 0;             // blocks.size() * block_size
  int num_revived = 0;            // of them, currently free: reviving uses free capacity
  // Window pool only: per entry of `blocks`, the window pool's block with the
  // same key, or -1 where the hit's first chunk cannot read it (before the window).
  std::vector<BlockId> window_blocks;
  int num_window_revived = 0;
};

// Copy block src's KV into dst before this step's writes (copy-on-write);
// window: both are the window pool's blocks (the sliding layers' KV).
struct CopyOnWrite {
  BlockId src = -1;
  BlockId dst = -1;
  bool window = false;
};

class KvCacheManager {
 public:
  KvCacheManager(int num_blocks, int block_size, WindowPoolConfig window = {});

  int block_size() const { return block_size_; }
  int blocks_for_tokens(int num_tokens) const;
  const BlockPool& pool() const { return pool_; }
  bool has_window_pool() const { return window_pool_.has_value(); }
  const BlockPool* window_pool() const { return window_pool_ ? &*window_pool_ : nullptr; }
  // Free blocks not promised to a reserved sequence.
  int num_available() const { return pool_.num_free() - reserved_; }
  int num_reserved() const { return reserved_; }

  // Longest cached run of leading full blocks of `tokens`, covering at most
  // max_tokens tokens. No side effects.
  PrefixHit find_prefix(std::span<const TokenId> tokens, uint64_t extra_key, int max_tokens) const;

  // Can a new sequence take `hit`, blocks up to num_tokens, and a reservation
  // up to reserve_until_tokens (0 = none)?
  bool can_allocate(const PrefixHit& hit, int num_tokens, int reserve_until_tokens = 0) const;
  // Creates id's table: hit blocks (shared) then fresh blocks up to num_tokens.
  // A reservation sets blocks aside so the sequence can grow to
  // reserve_until_tokens without competing for free blocks (the livelock
  // rule, README). Throws SchedulerError if it does not fit or id exists.
  void allocate(RequestId id, const PrefixHit& hit, int num_tokens, uint64_t extra_key,
                int reserve_until_tokens = 0);

  // Fresh blocks (+1 for copy-on-write) to write num_new tokens after num_computed.
  int blocks_to_append(RequestId id, int num_computed, int num_new) const;
  bool can_append(RequestId id, int num_computed, int num_new) const;
  // Grows id's tables to cover num_computed + num_new. Returns a copy (per
  // pool) when the partially filled block being appended to is shared (fork):
  // the sequence gets a private copy, the other holders keep the original.
  std::vector<CopyOnWrite> append_slots(RequestId id, int num_computed, int num_new);

  // After a step computed id's first num_computed tokens: keys its full blocks
  // in the prefix cache (tokens = the sequence's known tokens), and drops the
  // window blocks no later query reads.
  void commit(RequestId id, std::span<const TokenId> tokens, int num_computed);

  // child shares all of parent's blocks (refcount + 1 each).
  void fork(RequestId parent, RequestId child);
  // Drops id's table; its keyed blocks stay cached until evicted.
  void free(RequestId id);
  // Makes the block holding position `pos` of id's table one that id alone
  // holds and that no prefix-cache key points to, so rewriting that position
  // cannot change KV anyone else reads: a copy when the block is shared or
  // keyed. Blocks this needs (0 or 1) come from id's reservation, then the
  // free pool; privatize throws SchedulerError when they do not fit.
  int blocks_to_privatize(RequestId id, int pos) const;
  std::vector<CopyOnWrite> privatize(RequestId id, int pos);
  void release_reserved(RequestId id);  // id's table will not grow any more
  // Adds `blocks` to id's reservation if that many unreserved ones are free.
  bool reserve_more(RequestId id, int blocks);

  bool contains(RequestId id) const { return seqs_.contains(id); }
  std::span<const BlockId> block_table(RequestId id) const;
  // The window pool's table (same length; -1 = dropped); empty without one.
  std::span<const BlockId> window_block_table(RequestId id) const;
  int reserved_for(RequestId id) const;
  // The first block of a table that a chunk starting at start_pos can read in
  // the window pool (0 without one).
  int first_window_block(int start_pos) const;
  // The first window block id's table keeps after a commit at num_computed.
  int first_kept_window_block(int num_computed) const;

 private:
  struct SeqKv {
    std::vector<BlockId> table;
    std::vector<BlockHash> hashes;  // chain for table's leading full, committed blocks
    std::vector<BlockId> window_table;  // window pool only; -1: dropped
    uint64_t extra_key = 0;
    int reserved = 0;  // blocks set aside for this sequence, not yet taken
  };
  SeqKv& seq(RequestId id);
  const SeqKv& seq(RequestId id) const;
  BlockId take_block(SeqKv& s);
  // Points s's table entry at a fresh block (from s's reservation first) and
  // returns the copy the executor must make into it.
  CopyOnWrite copy_to_own_block(SeqKv& s, BlockId& entry);
  // kv_window.cpp: the window pool's share of each verb.
  void find_window_prefix(std::span<const BlockKey> keys, PrefixHit& hit) const;
  bool window_fits(int fresh_blocks) const;
  int window_blocks_to_append(const SeqKv& s, int num_computed, int num_new) const;
  void window_append(SeqKv& s, int num_computed, int num_new, std::vector<CopyOnWrite>& copies);
  void window_commit(SeqKv& s, int num_computed);
  void window_free(SeqKv& s);

  int block_size_;
  BlockPool pool_;
  WindowPoolConfig window_;
  std::optional<BlockPool> window_pool_;
  int reserved_ = 0;
  std::unordered_map<RequestId, SeqKv> seqs_;
};

}  // namespace loom::sched
