#include "scheduler/block_pool.h"

#include <algorithm>
#include <string>

namespace loom::sched {

BlockPool::BlockPool(int num_blocks) {
  if (num_blocks <= 0) {
    throw SchedulerError("BlockPool: num_blocks must be positive, got " +
                         std::to_string(num_blocks));
  }
  blocks_.resize(static_cast<size_t>(num_blocks));
  for (BlockId id = 0; id < num_blocks; ++id) link_back(id);
}

void BlockPool::check_id(BlockId id) const {
  if (id < 0 || id >= num_blocks()) {
    throw SchedulerError("BlockPool: block id " + std::to_string(id) + " out of range [0, " +
                         std::to_string(num_blocks()) + ")");
  }
}

void BlockPool::unlink(BlockId id) {
  Block& b = blocks_[id];
  (b.prev >= 0 ? blocks_[b.prev].next : head_) = b.next;
  (b.next >= 0 ? blocks_[b.next].prev : tail_) = b.prev;
  b.prev = b.next = -1;
  --num_free_;
  if (b.key) --num_cached_free_;
}

void BlockPool::link_front(BlockId id) {
  Block& b = blocks_[id];
  b.prev = -1;
  b.next = head_;
  (head_ >= 0 ? blocks_[head_].prev : tail_) = id;
  head_ = id;
  ++num_free_;
  if (b.key) ++num_cached_free_;
}

void BlockPool::link_back(BlockId id) {
  Block& b = blocks_[id];
  b.next = -1;
  b.prev = tail_;
  (tail_ >= 0 ? blocks_[tail_].next : head_) = id;
  tail_ = id;
  ++num_free_;
  if (b.key) ++num_cached_free_;
}

BlockId BlockPool::take_free() {
  if (head_ < 0) throw SchedulerError("BlockPool: no free block");
  BlockId id = head_;
  unlink(id);
  Block& b = blocks_[id];
  if (b.key) {  // evict: its KV is about to be overwritten
    cache_.erase(b.key->hash);
    b.key.reset();
  }
  b.refcount = 1;
  return id;
}

void BlockPool::ref(BlockId id) {
  check_id(id);
  if (blocks_[id].refcount == 0) {
    if (!blocks_[id].key) throw SchedulerError("BlockPool: ref of a free, uncached block");
    unlink(id);
  }
  ++blocks_[id].refcount;
}

void BlockPool::unref(BlockId id) {
  check_id(id);
  Block& b = blocks_[id];
  if (b.refcount <= 0) {
    throw SchedulerError("BlockPool: double free of block " + std::to_string(id));
  }
  if (--b.refcount == 0) {
    if (b.key) {
      link_back(id);
    } else {
      link_front(id);
    }
  }
}

int BlockPool::refcount(BlockId id) const {
  check_id(id);
  return blocks_[id].refcount;
}

bool BlockPool::is_cached(BlockId id) const {
  check_id(id);
  return blocks_[id].key.has_value();
}

std::optional<BlockId> BlockPool::find_cached(const BlockKey& key) const {
  auto it = cache_.find(key.hash);
  if (it == cache_.end()) return std::nullopt;
  if (*blocks_[it->second].key != key) return std::nullopt;  // 64-bit collision
  return it->second;
}

bool BlockPool::register_cached(BlockId id, BlockKey key) {
  check_id(id);
  Block& b = blocks_[id];
  if (b.refcount == 0) throw SchedulerError("BlockPool: register_cached on a free block");
  if (b.key || cache_.contains(key.hash)) return false;
  cache_.emplace(key.hash, id);
  b.key = std::move(key);
  return true;
}

}  // namespace loom::sched
