// The window pool's share of KvCacheManager's verbs (kv_cache_manager.h):
// the sliding-window layers' blocks, dropped once no later query reads them.
#include <algorithm>
#include <string>

#include "scheduler/kv_cache_manager.h"

namespace loom::sched {

int KvCacheManager::first_window_block(int start_pos) const {
  if (!has_window_pool()) return 0;
  return std::max(0, start_pos - window_.keep_tokens + 1) / block_size_;
}

// Kept from the position before num_computed on: a padded static batch's
// finished row recomputes its last position (README).
int KvCacheManager::first_kept_window_block(int num_computed) const {
  return first_window_block(std::max(0, num_computed - 1));
}

// The full pool found hit.blocks (leading, contiguous). A chunk starting after
// n of them reads the window pool's blocks [first_window_block(n * bs), n), so
// the hit is the longest n for which all of those are cached too; the window
// blocks before them are not needed (-1).
void KvCacheManager::find_window_prefix(std::span<const BlockKey> keys, PrefixHit& hit) const {
  const int n_full = static_cast<int>(hit.blocks.size());
  std::vector<BlockId> cached(n_full, -1);
  for (int i = 0; i < n_full; ++i)
    if (auto b = window_pool_->find_cached(keys[i])) cached[i] = *b;
  int n = n_full;
  for (; n > 0; --n) {
    const int first = first_window_block(n * block_size_);
    if (std::all_of(cached.begin() + first, cached.begin() + n, [](BlockId b) { return b >= 0; })) break;
  }
  hit.blocks.resize(n);
  hit.hashes.resize(n);
  hit.window_blocks.assign(n, -1);
  for (int i = first_window_block(n * block_size_); i < n; ++i) {
    hit.window_blocks[i] = cached[i];
    if (window_pool_->is_free(cached[i])) ++hit.num_window_revived;
  }
}

// Sizing guarantees this for running sequences (SchedulerConfig::validate);
// it is checked anyway, so a mis-sized pool is a block shortage, not a crash.
bool KvCacheManager::window_fits(int fresh_blocks) const { return fresh_blocks <= window_pool_->num_free(); }

int KvCacheManager::window_blocks_to_append(const SeqKv& s, int num_computed, int num_new) const {
  const int fresh = std::max(0, blocks_for_tokens(num_computed + num_new) - static_cast<int>(s.window_table.size()));
  const bool writes_partial = num_new > 0 && num_computed % block_size_ != 0;
  const BlockId last = writes_partial ? s.window_table.at(num_computed / block_size_) : -1;
  return fresh + (last >= 0 && window_pool_->refcount(last) > 1 ? 1 : 0);
}

void KvCacheManager::window_append(SeqKv& s, int num_computed, int num_new, std::vector<CopyOnWrite>& copies) {
  if (num_new > 0 && num_computed % block_size_ != 0) {
    BlockId& last = s.window_table.at(num_computed / block_size_);
    if (last >= 0 && window_pool_->refcount(last) > 1) {
      const CopyOnWrite copy{last, window_pool_->take_free(), true};
      window_pool_->unref(last);
      last = copy.dst;
      copies.push_back(copy);
    }
  }
  while (s.window_table.size() < s.table.size()) s.window_table.push_back(window_pool_->take_free());
}

// The next chunk starts at num_computed (a padding row at num_computed - 1):
// blocks wholly before its first readable key go back to the pool (keyed
// ones stay cached until evicted).
void KvCacheManager::window_commit(SeqKv& s, int num_computed) {
  const int first = std::min<int>(first_kept_window_block(num_computed), static_cast<int>(s.window_table.size()));
  for (int i = 0; i < first; ++i) {
    if (s.window_table[i] < 0) continue;
    window_pool_->unref(s.window_table[i]);
    s.window_table[i] = -1;
  }
}

void KvCacheManager::window_free(SeqKv& s) {
  for (auto it = s.window_table.rbegin(); it != s.window_table.rend(); ++it)
    if (*it >= 0) window_pool_->unref(*it);
  s.window_table.clear();
}

}  // namespace loom::sched
