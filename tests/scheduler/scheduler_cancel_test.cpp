// Cancel and deadline in every state, rejection at add time, API misuse.
#include <gtest/gtest.h>

#include "tests/scheduler/sched_table.h"

namespace loom::sched {
namespace {

using namespace loom::sched::testing;
using R = FinishReason;

SchedulerConfig config(int num_blocks, int block_size, int max_seqs, int max_tokens) {
  return table_config(num_blocks, block_size, max_seqs, max_tokens, /*max_model_len=*/64);
}

RequestSpec with_deadline(RequestSpec s, int ms) {
  s.deadline = at_ms(ms);
  return s;
}

// Two requests on 4 blocks of 4 tokens; request 2 is preempted in step 3.
std::vector<Iteration> preemption_prefix() {
  return {
      {.seqs = {{1, 0, 7, true, {0, 1}}, {2, 0, 7, true, {2, 3}}}, .now_ms = 0},
      {.seqs = {{1, 7, 1, true, {0, 1}}, {2, 7, 1, true, {2, 3}}}, .now_ms = 1},
      {.seqs = {{1, 8, 1, true, {0, 1, 3}}}, .preempted = {2}, .now_ms = 2},
  };
}

void expect_all_blocks_free(const Scheduler& s) {
  EXPECT_EQ(s.stats().blocks_free, s.stats().blocks_total);
  EXPECT_EQ(s.stats().blocks_reserved, 0);
}

TEST(SchedulerCancel, Waiting) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(spec(1, {1, 2, 3}, 4));
  s.cancel(1);
  run_table(s, {{.seqs = {}, .finished_at_schedule = {{1, R::kCancelled}}}});
  EXPECT_FALSE(s.info(1).has_value());
  EXPECT_THROW(s.cancel(1), SchedulerError);  // already finished
  expect_all_blocks_free(s);
}

TEST(SchedulerCancel, RunningMidPrefill) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(spec(1, iota_tokens(1, 20), 4));
  run_table(s, {
                   {.seqs = {{1, 0, 8, false, {0, 1}}}},
                   {.before = [](Scheduler& s) { s.cancel(1); },
                    .seqs = {},
                    .finished_at_schedule = {{1, R::kCancelled}}},
               });
  expect_all_blocks_free(s);
  EXPECT_EQ(s.stats().blocks_cached_free, 2);  // the 8 computed tokens stay reusable
}

TEST(SchedulerCancel, RunningDecodeWhileStepInFlight) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(spec(1, {1, 2, 3}, 10));
  run_table(s, {{.seqs = {{1, 0, 3, true, {0}}}}});
  StepPlan plan = s.schedule(at_ms(0));
  ASSERT_EQ(plan.seqs.size(), 1u);
  s.cancel(1);  // the step is in flight: takes effect at the next schedule
  std::vector<TokenId> tokens{42};
  EXPECT_TRUE(s.update(plan, tokens).empty());
  StepPlan next = s.schedule(at_ms(0));
  ASSERT_EQ(next.finished.size(), 1u);
  EXPECT_EQ(next.finished[0].id, 1u);
  EXPECT_EQ(next.finished[0].reason, R::kCancelled);
  EXPECT_EQ(next.finished[0].num_generated, 2);
  EXPECT_TRUE(next.seqs.empty());
  expect_all_blocks_free(s);
}

TEST(SchedulerCancel, Preempted) {
  Scheduler s(config(4, 4, 4, 32));
  s.add(spec(1, iota_tokens(1, 7), 4));
  s.add(spec(2, iota_tokens(11, 7), 10));
  auto table = preemption_prefix();
  table.push_back({.before = [](Scheduler& s) { s.cancel(2); },
                   .seqs = {{1, 9, 1, true, {0, 1, 3}}},
                   .finished_at_schedule = {{2, R::kCancelled}},
                   .finished_at_update = {{1, R::kLength}}});
  run_table(s, table);
  expect_all_blocks_free(s);
}

TEST(SchedulerDeadline, Waiting) {
  Scheduler s(config(8, 4, 1, 8));  // one seq slot: 2 stays waiting
  s.add(spec(1, {1, 2}, 5));
  s.add(with_deadline(spec(2, {3, 4}, 5), 5));
  run_table(s, {
                   {.seqs = {{1, 0, 2, true, {0}}}, .now_ms = 4},
                   {.seqs = {{1, 2, 1, true, {0}}},
                    .finished_at_schedule = {{2, R::kDeadline}},
                    .now_ms = 5},
               });
}

TEST(SchedulerDeadline, RunningMidPrefill) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(with_deadline(spec(1, iota_tokens(1, 20), 4), 2));
  run_table(s, {
                   {.seqs = {{1, 0, 8, false, {0, 1}}}, .now_ms = 0},
                   {.seqs = {{1, 8, 8, false, {0, 1, 2, 3}}}, .now_ms = 1},
                   {.seqs = {}, .finished_at_schedule = {{1, R::kDeadline}}, .now_ms = 2},
               });
  expect_all_blocks_free(s);
}

TEST(SchedulerDeadline, RunningDecode) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(with_deadline(spec(1, {1, 2, 3}, 10), 1));
  run_table(s, {
                   {.seqs = {{1, 0, 3, true, {0}}}, .now_ms = 0},
                   {.seqs = {}, .finished_at_schedule = {{1, R::kDeadline}}, .now_ms = 1},
               });
  expect_all_blocks_free(s);
}

TEST(SchedulerDeadline, Preempted) {
  Scheduler s(config(4, 4, 4, 32));
  s.add(spec(1, iota_tokens(1, 7), 4));
  s.add(with_deadline(spec(2, iota_tokens(11, 7), 10), 3));
  auto table = preemption_prefix();
  table.push_back({.seqs = {{1, 9, 1, true, {0, 1, 3}}},
                   .finished_at_schedule = {{2, R::kDeadline}},
                   .finished_at_update = {{1, R::kLength}},
                   .now_ms = 3});
  run_table(s, table);
  expect_all_blocks_free(s);
}

TEST(SchedulerReject, TooLongOrMalformed) {
  Scheduler s(config(4, 4, 4, 32));  // 16 tokens of KV, max_model_len 64
  EXPECT_THROW(s.add(spec(1, iota_tokens(1, 17), 1)), SchedulerError);  // > KV pool
  SchedulerConfig c = config(64, 4, 4, 32);
  c.max_model_len = 10;
  Scheduler t(c);
  EXPECT_THROW(t.add(spec(1, iota_tokens(1, 11), 1)), SchedulerError);  // > max_model_len
  EXPECT_THROW(t.add(spec(2, {}, 1)), SchedulerError);
  EXPECT_THROW(t.add(spec(3, {1}, 0)), SchedulerError);
  EXPECT_THROW(t.add(spec(4, {1, -2}, 1)), SchedulerError);
  // Clamped, not rejected: 8 + max_new - 1 KV positions must fit in 10.
  EXPECT_EQ(t.add(spec(5, iota_tokens(1, 8), 100)), 3);
  EXPECT_EQ(t.add(spec(6, iota_tokens(1, 10), 100)), 1);
  EXPECT_THROW(t.add(spec(5, {1}, 1)), SchedulerError);  // duplicate id
  EXPECT_EQ(s.stats().num_waiting, 0);
  EXPECT_EQ(t.stats().num_waiting, 2);
  try {
    s.add(spec(7, iota_tokens(1, 17), 1));
  } catch (const SchedulerError& e) {
    EXPECT_NE(std::string(e.what()).find("17"), std::string::npos) << e.what();
  }
}

TEST(SchedulerMisuse, PlanAndResultsMustMatch) {
  Scheduler s(config(8, 4, 4, 8));
  s.add(spec(1, {1, 2}, 5));
  s.add(spec(2, iota_tokens(1, 20), 5));  // mid-prefill: no logits row
  StepPlan plan = s.schedule(at_ms(0));
  ASSERT_EQ(plan.num_logits_rows, 1);
  EXPECT_THROW(s.schedule(at_ms(0)), SchedulerError);  // previous plan not updated
  std::vector<TokenId> none, two{1, 2}, negative{-1};
  EXPECT_THROW(s.update(plan, none), SchedulerError);
  EXPECT_THROW(s.update(plan, two), SchedulerError);
  EXPECT_THROW(s.update(plan, negative), SchedulerError);
  StepPlan stale = plan;
  stale.step_id += 1;
  std::vector<TokenId> one{7};
  EXPECT_THROW(s.update(stale, one), SchedulerError);
  EXPECT_EQ(s.info(1)->num_computed, 0);  // failed updates changed nothing
  s.update(plan, one);
  EXPECT_THROW(s.update(plan, one), SchedulerError);  // already applied
  EXPECT_EQ(s.info(1)->num_generated, 1);
  SchedulerConfig bad = config(8, 4, 16, 8);  // fewer tokens than seqs
  EXPECT_THROW(Scheduler{bad}, SchedulerError);
}

}  // namespace
}  // namespace loom::sched
