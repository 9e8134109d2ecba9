// Prompt-logprobs requests (RequestSpec::prompt_logprobs): each chunk names
// the token after each of its prompt positions (logprob_targets), across
// chunk boundaries, up to the prompt's second-to-last position; decodes name
// none; a cached prefix is never served to such a request at its first
// admission (cached blocks hold KV, not log-probabilities), while the cache
// keeps working for everyone else.
#include <gtest/gtest.h>

#include <numeric>

#include "scheduler/scheduler.h"

namespace loom::sched {
namespace {

std::vector<TokenId> iota(TokenId first, int n) {
  std::vector<TokenId> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

SchedulerConfig config(int max_batched_tokens) {
  SchedulerConfig c;
  c.num_blocks = 32;
  c.block_size = 4;
  c.max_num_seqs = 4;
  c.max_batched_tokens = max_batched_tokens;
  c.max_model_len = 128;
  return c;
}

RequestSpec spec(RequestId id, std::vector<TokenId> prompt, int max_new, bool prompt_logprobs) {
  RequestSpec s;
  s.id = id;
  s.prompt = std::move(prompt);
  s.max_new_tokens = max_new;
  s.prompt_logprobs = prompt_logprobs;
  return s;
}

// Runs one step, every logits row sampling token 900.
StepPlan step(Scheduler& s) {
  StepPlan plan = s.schedule(TimePoint{});
  std::vector<SampledToken> sampled(plan.num_logits_rows, SampledToken{900, false});
  s.update(plan, sampled);
  return plan;
}

TEST(SchedulerPromptLogprobs, ChunksNameTheNextPromptTokenAcrossBoundaries) {
  Scheduler s(config(4));
  const auto prompt = iota(10, 10);  // 10 .. 19
  s.add(spec(1, prompt, 2, true));
  const StepPlan a = step(s);
  ASSERT_EQ(a.seqs.size(), 1u);
  EXPECT_EQ(a.seqs[0].logprob_targets, std::vector<TokenId>({11, 12, 13, 14}));  // positions 0..3
  EXPECT_FALSE(a.seqs[0].sample);
  const StepPlan b = step(s);
  EXPECT_EQ(b.seqs[0].logprob_targets, std::vector<TokenId>({15, 16, 17, 18}));  // positions 4..7
  const StepPlan c = step(s);
  EXPECT_EQ(c.seqs[0].start_pos, 8);
  EXPECT_EQ(c.seqs[0].num_tokens(), 2);
  EXPECT_EQ(c.seqs[0].logprob_targets, std::vector<TokenId>({19}))
      << "the last prompt position has no prompt token after it";
  EXPECT_TRUE(c.seqs[0].sample);
  const StepPlan d = step(s);  // the decode of the sampled token
  EXPECT_EQ(d.seqs[0].num_tokens(), 1);
  EXPECT_TRUE(d.seqs[0].logprob_targets.empty());
  EXPECT_FALSE(s.has_unfinished());
}

TEST(SchedulerPromptLogprobs, OnlyThoseRequestsGetTargetsInAMixedBatch) {
  Scheduler s(config(32));
  s.add(spec(1, iota(10, 5), 1, false));
  s.add(spec(2, iota(40, 5), 1, true));
  const StepPlan p = step(s);
  ASSERT_EQ(p.seqs.size(), 2u);
  EXPECT_TRUE(p.seqs[0].logprob_targets.empty());
  EXPECT_EQ(p.seqs[1].logprob_targets, std::vector<TokenId>({41, 42, 43, 44}));
  EXPECT_EQ(p.num_logits_rows, 2);
}

TEST(SchedulerPromptLogprobs, ACachedPrefixIsNotServedToThemButStaysForOthers) {
  Scheduler s(config(64));
  const auto prompt = iota(10, 13);  // three full blocks of 4, then one token
  s.add(spec(1, prompt, 1, false));
  step(s);
  ASSERT_FALSE(s.has_unfinished());
  EXPECT_EQ(s.stats().blocks_cached_free, 3);

  s.add(spec(2, prompt, 1, true));
  const StepPlan with_logprobs = step(s);
  ASSERT_EQ(with_logprobs.seqs.size(), 1u);
  EXPECT_EQ(with_logprobs.seqs[0].num_cached_tokens, 0);
  EXPECT_EQ(with_logprobs.seqs[0].start_pos, 0);
  EXPECT_EQ(with_logprobs.seqs[0].logprob_targets.size(), 12u);

  s.add(spec(3, prompt, 1, false));
  const StepPlan plain = step(s);
  EXPECT_EQ(plain.seqs[0].num_cached_tokens, 12) << "the cache still serves plain requests";
  EXPECT_TRUE(plain.seqs[0].logprob_targets.empty());
}

}  // namespace
}  // namespace loom::sched
