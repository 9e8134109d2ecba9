// Step-by-step tables: which sequences run, how many tokens, which blocks.
// Block ids are predictable: the pool hands out 0, 1, 2, ... first; a freed
// plain block is reused first; freed cached blocks are evicted oldest first.
#include <gtest/gtest.h>

#include "tests/scheduler/sched_table.h"
#include "bench/baselines/baseline_policies.h"

using loom::baselines::PolicyKind;

namespace loom::sched {
namespace {

using namespace loom::sched::testing;
using R = FinishReason;

SchedulerConfig config(int num_blocks, int block_size, int max_seqs, int max_tokens) {
  return table_config(num_blocks, block_size, max_seqs, max_tokens, /*max_model_len=*/1024);
}

TEST(SchedulerSteps, SimpleDecode) {
  Scheduler s(config(8, 4, 4, 16));
  s.add(spec(1, iota_tokens(1, 6), 3));
  run_table(s, {
                   {.seqs = {{1, 0, 6, true, {0, 1}}}},
                   {.before =
                        [](Scheduler& s) {
                          s.add(spec(2, {7, 8, 9}, 2));
                        },
                    .seqs = {{1, 6, 1, true, {0, 1}, {sampled_token(1, 0)}},  // decodes first
                             {2, 0, 3, true, {2}}}},
                   {.seqs = {{1, 7, 1, true, {0, 1}, {sampled_token(2, 0)}},
                             {2, 3, 1, true, {2}, {sampled_token(2, 1)}}},
                    .finished_at_update = {{1, R::kLength}, {2, R::kLength}}},
               });
  SchedulerStats st = s.stats();
  EXPECT_FALSE(s.has_unfinished());
  EXPECT_EQ(st.blocks_free, 8);
  EXPECT_EQ(st.blocks_used, 0);
  // Full, computed blocks stay cached: 1's [1..4] and [5,6,g1,g2], 2's [7,8,9,g1].
  EXPECT_EQ(st.blocks_cached_free, 3);
}

TEST(SchedulerSteps, ChunkedPrefill) {
  Scheduler s(config(16, 4, 4, 8));
  s.add(spec(1, iota_tokens(1, 20), 2));
  run_table(s, {
                   {.seqs = {{1, 0, 8, false, {0, 1}}}},
                   {.before =
                        [](Scheduler& s) {
                          s.add(spec(2, {50, 51, 52}, 1));
                        },
                    .seqs = {{1, 8, 8, false, {0, 1, 2, 3}}}},  // budget spent: 2 waits
                   {.seqs = {{1, 16, 4, true, {0, 1, 2, 3, 4}}, {2, 0, 3, true, {5}}},
                    .finished_at_update = {{2, R::kLength}}},
                   {.before = [](Scheduler& s) { s.add(spec(3, iota_tokens(100, 12), 1)); },
                    .seqs = {{1, 20, 1, true, {0, 1, 2, 3, 4, 5}},  // 2's partial block 5 reused
                             {3, 0, 7, false, {6, 7}}},             // what the decode left: 8 - 1
                    .finished_at_update = {{1, R::kLength}}},
                   {.seqs = {{3, 7, 5, true, {6, 7, 5}}}, .finished_at_update = {{3, R::kLength}}},
               });
}

TEST(SchedulerSteps, PrefixHitSharesBlocks) {
  Scheduler s(config(16, 4, 8, 64));
  s.add(spec(1, iota_tokens(1, 10), 1));
  std::vector<TokenId> shared = iota_tokens(1, 8);
  auto with = [&](std::vector<TokenId> tail) {
    std::vector<TokenId> t = shared;
    t.insert(t.end(), tail.begin(), tail.end());
    return t;
  };
  run_table(s, {
                   {.seqs = {{1, 0, 10, true, {0, 1, 2}}}, .finished_at_update = {{1, R::kLength}}},
                   {.before =
                        [&](Scheduler& s) {
                          s.add(spec(2, with({50, 51, 52}), 2));
                          s.add(spec(3, with({60}), 2));
                          s.add(spec(4, shared, 2));  // exact 2 blocks: the last is recomputed
                          RequestSpec salted = spec(5, with({9}), 2);
                          salted.cache_salt = 7;  // other LoRA: no sharing
                          s.add(salted);
                        },
                    .seqs = {{2, 8, 3, true, {0, 1, 2}, {50, 51, 52}, 8},
                             {3, 8, 1, true, {0, 1, 3}, {60}, 8},
                             {4, 4, 4, true, {0, 4}, {5, 6, 7, 8}, 4},
                             {5, 0, 9, true, {5, 6, 7}, with({9}), 0}}},
               });
  const BlockPool& pool = s.kv().pool();
  EXPECT_EQ(pool.refcount(0), 3);  // 2, 3, 4
  EXPECT_EQ(pool.refcount(1), 2);  // 2, 3
  EXPECT_EQ(pool.refcount(2), 1);
  EXPECT_EQ(s.info(3)->num_cached_tokens, 8);
  SchedulerStats st = s.stats();
  EXPECT_EQ(st.prefix_query_tokens, 10 + 11 + 9 + 8 + 9);
  EXPECT_EQ(st.prefix_hit_tokens, 0 + 8 + 8 + 4 + 0);
  EXPECT_DOUBLE_EQ(st.prefix_hit_rate(), 20.0 / 47.0);
}

TEST(SchedulerSteps, CopyOnWriteAfterFork) {
  Scheduler s(config(8, 4, 4, 16));
  s.add(spec(1, iota_tokens(1, 6), 5));
  run_table(
      s,
      {
          {.seqs = {{1, 0, 6, true, {0, 1}}}},
          {.before = [](Scheduler& s) { s.fork(1, 2, 77); },
           // 1 appends into the shared partial block 1 first: it gets a copy (2);
           // 2 is then block 1's only holder and writes in place.
           .seqs = {{1, 6, 1, true, {0, 2}, {sampled_token(1, 0)}}, {2, 6, 1, true, {0, 1}, {77}}},
           .copies = {{1, 2}}},
      });
  const BlockPool& pool = s.kv().pool();
  EXPECT_EQ(pool.refcount(0), 2);
  EXPECT_EQ(pool.refcount(1), 1);
  EXPECT_EQ(pool.refcount(2), 1);
  EXPECT_THROW(s.fork(1, 2, 5), SchedulerError);   // child id in use
  EXPECT_THROW(s.fork(9, 10, 5), SchedulerError);  // unknown parent
}

TEST(SchedulerSteps, PreemptAndResumeByRecompute) {
  Scheduler s(config(4, 4, 4, 32));  // 16 tokens of KV
  s.add(spec(1, iota_tokens(1, 7), 4));
  s.add(spec(2, iota_tokens(11, 7), 10));
  run_table(s, {
                   {.seqs = {{1, 0, 7, true, {0, 1}}, {2, 0, 7, true, {2, 3}}}},
                   {.seqs = {{1, 7, 1, true, {0, 1}}, {2, 7, 1, true, {2, 3}}}},
                   // 1 needs a 3rd block: 2 (later arrival) is the victim. Its blocks stay
                   // cached; 1 takes the oldest one (3), evicting 2's second block.
                   {.seqs = {{1, 8, 1, true, {0, 1, 3}}}, .preempted = {2}},
                   // 2 would need 3 blocks with only its cached first block free: waits.
                   {.seqs = {{1, 9, 1, true, {0, 1, 3}}}, .finished_at_update = {{1, R::kLength}}},
                   // Resume: block 2 is a prefix hit; prompt tail + 2 generated recomputed.
                   {.seqs = {{2,
                              4,
                              5,
                              true,
                              {2, 3, 1},
                              {15, 16, 17, sampled_token(1, 1), sampled_token(2, 1)},
                              4}}},
               });
  RequestInfo info = *s.info(2);
  EXPECT_EQ(info.preemptions, 1);
  EXPECT_EQ(info.num_generated, 3);
  EXPECT_EQ(s.stats().preemptions, 1);
}

TEST(SchedulerSteps, HigherPriorityPreemptsLowerEvenIfAlreadyPlanned) {
  Scheduler s(config(6, 4, 4, 32));
  s.add(spec(1, iota_tokens(1, 16), 4, /*priority=*/0));
  run_table(
      s, {
             {.seqs = {{1, 0, 16, true, {0, 1, 2, 3}}}},
             // 1 decodes into block 4; 2 gets what is left: one block, 4 tokens.
             {.before = [](Scheduler& s) { s.add(spec(2, iota_tokens(101, 12), 2, 5)); },
              .seqs = {{1, 16, 1, true, {0, 1, 2, 3, 4}}, {2, 0, 4, false, {5}}}},
             // 2 needs 2 blocks: 1 (lower priority) is taken out of the plan and
             // preempted; its plain block 4 is reused, then its oldest cached one.
             {.seqs = {{2, 4, 8, true, {5, 4, 3}}}, .preempted = {1}},
             {.seqs = {{2, 12, 1, true, {5, 4, 3, 2}}}, .finished_at_update = {{2, R::kLength}}},
             // 1 recomputes its prompt tail and both tokens it generated (steps 1, 2).
             {.seqs = {{1,
                        8,
                        10,
                        true,
                        {0, 1, 2, 3, 4},
                        {9, 10, 11, 12, 13, 14, 15, 16, sampled_token(1, 0), sampled_token(2, 0)},
                        8}}},
         });
  EXPECT_EQ(s.info(1)->preemptions, 1);
}

TEST(SchedulerSteps, WaitingHigherPriorityTakesTheSeqSlot) {
  Scheduler s(config(8, 4, 1, 8));
  s.add(spec(1, {1, 2, 3}, 5));
  run_table(
      s,
      {
          {.seqs = {{1, 0, 3, true, {0}}}},
          {.before =
               [](Scheduler& s) {
                 s.add(spec(2, {9, 10}, 1, /*priority=*/1));
                 s.add(spec(3, {20}, 1, /*priority=*/0));  // same priority as 1: no preemption
               },
           .seqs = {{2, 0, 2, true, {0}}},
           .preempted = {1},
           .finished_at_update = {{2, R::kLength}}},
          {.seqs = {{1, 0, 4, true, {0}, {1, 2, 3, sampled_token(1, 0)}, 0}}},  // FCFS: 1 before 3
          {.seqs = {{1, 4, 1, true, {0, 1}}}},
      });
}

TEST(SchedulerSteps, StaticBatchAdmitsOnlyWhenDrained) {
  SchedulerConfig c = config(8, 4, 4, 16);
  c.policy = loom::baselines::make_policy(PolicyKind::kStaticBatch, c.max_preemptions);
  Scheduler s(c);
  s.add(spec(1, {1, 2}, 3));
  s.add(spec(2, {3, 4}, 1));
  run_table(s, {
                   {.seqs = {{1, 0, 2, true, {0}}, {2, 0, 2, true, {1}}},
                    .finished_at_update = {{2, R::kLength}}},
                   {.before = [](Scheduler& s) { s.add(spec(3, {5}, 1)); },
                    .seqs = {{1, 2, 1, true, {0}}}},
                   {.seqs = {{1, 3, 1, true, {0}}}, .finished_at_update = {{1, R::kLength}}},
                   {.seqs = {{3, 0, 1, true, {1}}}, .finished_at_update = {{3, R::kLength}}},
               });
  EXPECT_EQ(s.stats().preemptions, 0);
}

// The static batch is every waiting request (up to max_num_seqs), not what
// one step's token budget can prefill: the rest start their prefill later.
TEST(SchedulerSteps, StaticBatchAdmitsBeyondOneStepsBudget) {
  SchedulerConfig c = config(8, 4, 4, 4);
  c.policy = loom::baselines::make_policy(PolicyKind::kStaticBatch, c.max_preemptions);
  Scheduler s(c);
  s.add(spec(1, {1, 2, 3}, 2));
  s.add(spec(2, {4, 5, 6}, 1));
  s.add(spec(3, {7, 8, 9}, 1));
  run_table(s, {
                   {.seqs = {{1, 0, 3, true, {0}}, {2, 0, 1, false, {1}}}},  // 3 admitted, no tokens
                   {.before = [](Scheduler& s) { s.add(spec(4, {10}, 1)); },  // waits for the drain
                    .seqs = {{1, 3, 1, true, {0}}, {2, 1, 2, true, {1}}, {3, 0, 1, false, {2}}},
                    .finished_at_update = {{1, R::kLength}, {2, R::kLength}}},
                   {.seqs = {{3, 1, 2, true, {2}}}, .finished_at_update = {{3, R::kLength}}},
                   // 3's block holds 3 computed tokens: plain, freed last, reused first.
                   {.seqs = {{4, 0, 1, true, {2}}}, .finished_at_update = {{4, R::kLength}}},
               });
}

// The fixed-shape static batch: a finished request is reported once, then
// its row stays in every step (recomputing its last position, sampling
// nothing) until the batch drains. A row whose last block is keyed (full,
// cacheable) first gets a private copy, so the rewrite cannot reach the cache.
TEST(SchedulerSteps, StaticPaddedKeepsFinishedRowsUntilTheBatchDrains) {
  SchedulerConfig c = config(8, 4, 4, 16);
  c.policy = loom::baselines::make_policy(PolicyKind::kStaticPadded, c.max_preemptions);
  Scheduler s(c);
  s.add(spec(1, {1, 2}, 3));
  s.add(spec(2, {3, 4, 5, 6}, 1));
  const SeqRow pad2{2, 3, 1, false, {2}, {6}, -1, true};  // 2's last position, in the copy
  run_table(s, {
                   {.seqs = {{1, 0, 2, true, {0}}, {2, 0, 4, true, {1}}},
                    .finished_at_update = {{2, R::kLength}}},
                   {.before =
                        [](Scheduler& s) {
                          EXPECT_EQ(s.padding_ids(), std::vector<RequestId>{2});
                          EXPECT_FALSE(s.info(2).has_value());  // finished for the caller
                          EXPECT_THROW(s.add(spec(2, {9}, 1)), SchedulerError);  // id still holds KV
                          s.add(spec(3, {7}, 1));  // waits for the drain
                        },
                    .seqs = {{1, 2, 1, true, {0}}, pad2},
                    .copies = {{1, 2}}},
                   // 1 finishes: its keyed block 0 is copied to 3, then the drained batch
                   // frees both padding rows (their copies are never emitted).
                   {.seqs = {{1, 3, 1, true, {0}}, pad2}, .finished_at_update = {{1, R::kLength}}},
                   {.seqs = {{3, 0, 1, true, {3}}}, .finished_at_update = {{3, R::kLength}}},
               });
  EXPECT_TRUE(s.padding_ids().empty());
  EXPECT_FALSE(s.has_unfinished());
  SchedulerStats st = s.stats();
  EXPECT_EQ(st.blocks_used, 0);
  EXPECT_EQ(st.blocks_reserved, 0);
  EXPECT_EQ(st.blocks_cached_free, 2);  // 1's [1, 2, g, g] and 2's prompt, never overwritten
  EXPECT_EQ(st.preemptions, 0);
}

TEST(SchedulerSteps, StopFlagFinishesWithStop) {
  Scheduler s(config(8, 4, 4, 16));
  s.add(spec(1, {1, 2}, 10));
  run_table(
      s, {
             {.seqs = {{1, 0, 2, true, {0}}}},
             {.seqs = {{1, 2, 1, true, {0}}}, .finished_at_update = {{1, R::kStop}}, .stop = {1}},
         });
}

}  // namespace
}  // namespace loom::sched
