// KvCacheManager's window pool (the sliding-window layers' blocks): what a
// prefix hit may reuse once blocks were dropped and evicted. The randomized
// scheduler simulation (scheduler_sim_test, seeds 11-17) checks the rest:
// every position a sliding query reads is live and holds its KV.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "scheduler/kv_cache_manager.h"

namespace loom::sched {
namespace {

constexpr int kBlock = 16;
constexpr int kKeep = 17;  // a chunk at p reads positions p - 16 .. p - 1

std::vector<TokenId> counting(int n, int from) {
  std::vector<TokenId> t(n);
  std::iota(t.begin(), t.end(), from);
  return t;
}

// Request 1 computes 64 tokens in one step and finishes: its window blocks
// 0 and 1 are dropped at commit (the next chunk, at 64, reads from 48 on),
// then 3 and 2 are freed, all keyed. Free order of the 8 window blocks:
// 4 never used, then table blocks 0, 1, 3, 2.
struct Fixture {
  KvCacheManager kv{16, kBlock, {8, kKeep}};
  std::vector<TokenId> prompt = counting(65, 100);
  std::vector<BlockId> a_window;

  Fixture() {
    kv.allocate(1, {}, 64, 0);
    kv.commit(1, std::span(prompt).first(64), 64);
    auto w = kv.window_block_table(1);
    a_window.assign(w.begin(), w.end());
    EXPECT_EQ(a_window[0], -1);
    EXPECT_EQ(a_window[1], -1);
    EXPECT_GE(a_window[2], 0);
    EXPECT_EQ(kv.window_pool()->num_used(), 2);
    kv.free(1);
  }
  PrefixHit hit() const { return kv.find_prefix(prompt, 0, 64); }
};

TEST(KvWindow, HitReusesOnlyTheBlocksItsFirstChunkReads) {
  Fixture f;
  const PrefixHit h = f.hit();
  EXPECT_EQ(h.num_tokens, 64);
  // A chunk at 64 reads positions 48..63: table block 3 only.
  EXPECT_EQ(h.window_blocks, (std::vector<BlockId>{-1, -1, -1, f.a_window[3]}));
  EXPECT_EQ(h.num_window_revived, 1);
  f.kv.allocate(2, h, 65, 0);
  EXPECT_EQ(f.kv.window_block_table(2)[3], f.a_window[3]);
  EXPECT_EQ(f.kv.window_pool()->refcount(f.a_window[3]), 1);
}

TEST(KvWindow, HitSurvivesEvictionOfBlocksBeforeTheWindow) {
  Fixture f;
  f.kv.allocate(3, {}, 6 * kBlock, 0);  // 4 unused window blocks, then table blocks 0 and 1 evicted
  EXPECT_EQ(f.hit().num_tokens, 64);
}

TEST(KvWindow, HitShrinksToWhatTheWindowPoolStillHolds) {
  Fixture f;
  f.kv.allocate(3, {}, 6 * kBlock, 0);
  f.kv.append_slots(3, 6 * kBlock, kBlock);  // evicts table block 3 (freed before block 2)
  const PrefixHit h = f.hit();
  // The full pool still has all 4 blocks, but a chunk at 64 would read block 3:
  // the hit stops at 48, whose chunk reads 32..47 (block 2, still cached).
  EXPECT_EQ(h.num_tokens, 48);
  EXPECT_EQ(h.window_blocks, (std::vector<BlockId>{-1, -1, f.a_window[2]}));
}

TEST(KvWindow, ForkedSequencesCopyTheSharedPartialWindowBlock) {
  KvCacheManager kv{16, kBlock, {8, kKeep}};
  const auto tokens = counting(40, 1);
  kv.allocate(1, {}, 40, 0);
  kv.commit(1, tokens, 40);
  kv.fork(1, 2);
  const auto copies = kv.append_slots(2, 40, 1);  // block 2 (positions 32..47) is shared
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_FALSE(copies[0].window);
  EXPECT_TRUE(copies[1].window);
  EXPECT_EQ(copies[1].src, kv.window_block_table(1)[2]);
  EXPECT_EQ(copies[1].dst, kv.window_block_table(2)[2]);
}

TEST(KvWindow, BadWindowConfigIsRejected) {
  EXPECT_THROW(KvCacheManager(16, kBlock, {8, 0}), SchedulerError);
  EXPECT_THROW(KvCacheManager(16, kBlock, {-1, 4}), SchedulerError);
}

}  // namespace
}  // namespace loom::sched
