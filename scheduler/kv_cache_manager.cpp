#include "scheduler/kv_cache_manager.h"

#include <algorithm>
#include <string>

namespace loom::sched {

KvCacheManager::KvCacheManager(int num_blocks, int block_size, WindowPoolConfig window)
    : block_size_(block_size), pool_(num_blocks), window_(window) {
  if (block_size <= 0) {
    throw SchedulerError("KvCacheManager: block_size must be positive, got " +
                         std::to_string(block_size));
  }
  if (window.num_blocks < 0 || (window.num_blocks > 0 && window.keep_tokens <= 0)) {
    throw SchedulerError("KvCacheManager: a window pool needs num_blocks >= 0 and keep_tokens > 0, got " +
                         std::to_string(window.num_blocks) + " and " + std::to_string(window.keep_tokens));
  }
  if (window.num_blocks > 0) window_pool_.emplace(window.num_blocks);
}

int KvCacheManager::blocks_for_tokens(int num_tokens) const {
  return num_tokens <= 0 ? 0 : (num_tokens + block_size_ - 1) / block_size_;
}

KvCacheManager::SeqKv& KvCacheManager::seq(RequestId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) {
    throw SchedulerError("KvCacheManager: no block table for request " + std::to_string(id));
  }
  return it->second;
}

const KvCacheManager::SeqKv& KvCacheManager::seq(RequestId id) const {
  return const_cast<KvCacheManager*>(this)->seq(id);
}

PrefixHit KvCacheManager::find_prefix(std::span<const TokenId> tokens, uint64_t extra_key,
                                      int max_tokens) const {
  PrefixHit hit;
  BlockHash parent = kRootBlockHash;
  std::vector<BlockKey> keys;  // the window pool's lookups
  int max_blocks = std::min<int>(max_tokens, static_cast<int>(tokens.size())) / block_size_;
  for (int i = 0; i < max_blocks; ++i) {
    auto key = make_block_key(parent, extra_key, tokens.subspan(i * block_size_, block_size_));
    auto block = pool_.find_cached(key);
    if (!block) break;
    hit.blocks.push_back(*block);
    hit.hashes.push_back(key.hash);
    parent = key.hash;
    if (has_window_pool()) keys.push_back(std::move(key));
  }
  if (has_window_pool()) find_window_prefix(keys, hit);  // may shorten the hit
  for (BlockId b : hit.blocks) hit.num_revived += pool_.is_free(b) ? 1 : 0;
  hit.num_tokens = static_cast<int>(hit.blocks.size()) * block_size_;
  return hit;
}

bool KvCacheManager::can_allocate(const PrefixHit& hit, int num_tokens,
                                  int reserve_until_tokens) const {
  int fresh = std::max(0, blocks_for_tokens(num_tokens) - static_cast<int>(hit.blocks.size()));
  int covered = static_cast<int>(hit.blocks.size()) + fresh;
  int reserve = std::max(0, blocks_for_tokens(reserve_until_tokens) - covered);
  return hit.num_revived + fresh + reserve <= num_available() &&
         (!has_window_pool() || window_fits(hit.num_window_revived + fresh));
}

void KvCacheManager::allocate(RequestId id, const PrefixHit& hit, int num_tokens,
                              uint64_t extra_key, int reserve_until_tokens) {
  if (seqs_.contains(id)) {
    throw SchedulerError("KvCacheManager: request " + std::to_string(id) + " already has blocks");
  }
  if (num_tokens < hit.num_tokens || !can_allocate(hit, num_tokens, reserve_until_tokens)) {
    throw SchedulerError("KvCacheManager: allocation for request " + std::to_string(id) +
                         " does not fit");
  }
  SeqKv s;
  s.extra_key = extra_key;
  s.hashes = hit.hashes;
  for (BlockId b : hit.blocks) {  // revive hits first so take_free cannot evict them
    pool_.ref(b);
    s.table.push_back(b);
  }
  while (static_cast<int>(s.table.size()) < blocks_for_tokens(num_tokens)) {
    s.table.push_back(pool_.take_free());
  }
  if (has_window_pool()) {
    s.window_table = hit.window_blocks;
    for (BlockId b : s.window_table)
      if (b >= 0) window_pool_->ref(b);
    while (s.window_table.size() < s.table.size()) s.window_table.push_back(window_pool_->take_free());
  }
  s.reserved =
      std::max(0, blocks_for_tokens(reserve_until_tokens) - static_cast<int>(s.table.size()));
  reserved_ += s.reserved;
  seqs_.emplace(id, std::move(s));
}

int KvCacheManager::blocks_to_append(RequestId id, int num_computed, int num_new) const {
  const SeqKv& s = seq(id);
  int fresh =
      std::max(0, blocks_for_tokens(num_computed + num_new) - static_cast<int>(s.table.size()));
  bool writes_partial = num_new > 0 && num_computed % block_size_ != 0;
  bool cow = writes_partial && pool_.refcount(s.table.at(num_computed / block_size_)) > 1;
  return fresh + (cow ? 1 : 0);
}

bool KvCacheManager::can_append(RequestId id, int num_computed, int num_new) const {
  const SeqKv& s = seq(id);
  return blocks_to_append(id, num_computed, num_new) <= num_available() + s.reserved &&
         (!has_window_pool() || window_fits(window_blocks_to_append(s, num_computed, num_new)));
}

CopyOnWrite KvCacheManager::copy_to_own_block(SeqKv& s, BlockId& entry) {
  CopyOnWrite copy{entry, take_block(s)};
  pool_.unref(entry);
  entry = copy.dst;
  return copy;
}

BlockId KvCacheManager::take_block(SeqKv& s) {
  if (s.reserved > 0) {
    --s.reserved;
    --reserved_;
  }
  return pool_.take_free();
}

std::vector<CopyOnWrite> KvCacheManager::append_slots(RequestId id, int num_computed, int num_new) {
  if (!can_append(id, num_computed, num_new)) {
    throw SchedulerError("KvCacheManager: append for request " + std::to_string(id) +
                         " does not fit");
  }
  SeqKv& s = seq(id);
  std::vector<CopyOnWrite> copies;
  if (num_new > 0 && num_computed % block_size_ != 0) {
    BlockId& last = s.table.at(num_computed / block_size_);
    if (pool_.refcount(last) > 1) copies.push_back(copy_to_own_block(s, last));
  }
  while (static_cast<int>(s.table.size()) < blocks_for_tokens(num_computed + num_new)) {
    s.table.push_back(take_block(s));
  }
  if (has_window_pool()) window_append(s, num_computed, num_new, copies);
  return copies;
}

void KvCacheManager::commit(RequestId id, std::span<const TokenId> tokens, int num_computed) {
  SeqKv& s = seq(id);
  int full = std::min<int>(num_computed, static_cast<int>(tokens.size())) / block_size_;
  full = std::min<int>(full, static_cast<int>(s.table.size()));
  for (int i = static_cast<int>(s.hashes.size()); i < full; ++i) {
    BlockHash parent = i == 0 ? kRootBlockHash : s.hashes[i - 1];
    auto key = make_block_key(parent, s.extra_key, tokens.subspan(i * block_size_, block_size_));
    s.hashes.push_back(key.hash);
    if (has_window_pool() && s.window_table[i] >= 0) window_pool_->register_cached(s.window_table[i], key);
    pool_.register_cached(s.table[i], std::move(key));  // false: an equal block is cached
  }
  if (has_window_pool()) window_commit(s, num_computed);
}

void KvCacheManager::fork(RequestId parent, RequestId child) {
  if (seqs_.contains(child)) {
    throw SchedulerError("KvCacheManager: fork target " + std::to_string(child) + " exists");
  }
  SeqKv copy = seq(parent);
  copy.reserved = 0;
  for (BlockId b : copy.table) pool_.ref(b);
  for (BlockId b : copy.window_table)
    if (b >= 0) window_pool_->ref(b);
  seqs_.emplace(child, std::move(copy));
}

void KvCacheManager::free(RequestId id) {
  SeqKv& s = seq(id);
  // Tail first: the tail's cached blocks are then evicted before the head's,
  // which more requests share.
  for (auto it = s.table.rbegin(); it != s.table.rend(); ++it) pool_.unref(*it);
  window_free(s);
  reserved_ -= s.reserved;
  seqs_.erase(id);
}

int KvCacheManager::blocks_to_privatize(RequestId id, int pos) const {
  BlockId b = seq(id).table.at(pos / block_size_);
  return pool_.refcount(b) > 1 || pool_.is_cached(b) ? 1 : 0;
}

std::vector<CopyOnWrite> KvCacheManager::privatize(RequestId id, int pos) {
  SeqKv& s = seq(id);
  std::vector<CopyOnWrite> copies;
  if (blocks_to_privatize(id, pos) > 0) {
    if (num_available() + s.reserved < 1) {
      throw SchedulerError("KvCacheManager: no free block to privatize request " +
                           std::to_string(id) + "'s block");
    }
    copies.push_back(copy_to_own_block(s, s.table.at(pos / block_size_)));
  }
  if (!has_window_pool()) return copies;
  BlockId& w = s.window_table.at(pos / block_size_);
  if (w >= 0 && (window_pool_->refcount(w) > 1 || window_pool_->is_cached(w))) {
    if (!window_fits(1)) throw SchedulerError("KvCacheManager: no free window block to privatize request " + std::to_string(id));
    const CopyOnWrite copy{w, window_pool_->take_free(), true};
    window_pool_->unref(w);
    w = copy.dst;
    copies.push_back(copy);
  }
  return copies;
}

void KvCacheManager::release_reserved(RequestId id) {
  SeqKv& s = seq(id);
  reserved_ -= s.reserved;
  s.reserved = 0;
}

bool KvCacheManager::reserve_more(RequestId id, int blocks) {
  SeqKv& s = seq(id);
  if (blocks < 0 || num_available() < blocks) return false;
  s.reserved += blocks;
  reserved_ += blocks;
  return true;
}

std::span<const BlockId> KvCacheManager::block_table(RequestId id) const {
  return seq(id).table;
}

std::span<const BlockId> KvCacheManager::window_block_table(RequestId id) const {
  return seq(id).window_table;
}

int KvCacheManager::reserved_for(RequestId id) const {
  return seq(id).reserved;
}

}  // namespace loom::sched
