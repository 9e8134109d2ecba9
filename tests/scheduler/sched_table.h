// Per-iteration expectation tables for scheduler tests (in the spirit of
// TensorRT-LLM's capacitySchedulerTest): each Iteration says what happens
// before the step, which sequences run with which tokens and blocks, and
// what finishes. Sampled token of logits row r in iteration i: 1000 + 10 * i + r.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "scheduler/scheduler.h"

namespace loom::sched::testing {

inline TimePoint at_ms(int ms) {
  return TimePoint{} + std::chrono::milliseconds(ms);
}
inline TokenId sampled_token(int iteration, int row) {
  return 1000 + 10 * iteration + row;
}

struct SeqRow {
  RequestId id;
  int start;
  int num_tokens;
  bool sample;
  std::vector<BlockId> blocks;
  std::vector<TokenId> tokens = {};  // checked when non-empty
  int cached = -1;                   // num_cached_tokens, checked when >= 0
  bool padding = false;              // a finished row of the padded static batch
};

using Finish = std::pair<RequestId, FinishReason>;

struct Iteration {
  std::function<void(Scheduler&)> before = {};  // arrivals, cancels, forks; may be empty
  std::vector<SeqRow> seqs;
  std::vector<std::pair<BlockId, BlockId>> copies = {};
  std::vector<RequestId> preempted = {};
  std::vector<Finish> finished_at_schedule = {};  // cancelled / deadline
  std::vector<Finish> finished_at_update = {};    // length / stop
  int now_ms = 0;
  std::vector<RequestId> stop = {};  // flag these requests' samples as stop
};

// A scheduler config for table tests: pool size, block size and step limits.
inline SchedulerConfig table_config(int num_blocks, int block_size, int max_seqs, int max_tokens,
                                    int max_model_len) {
  SchedulerConfig c;
  c.num_blocks = num_blocks;
  c.block_size = block_size;
  c.max_num_seqs = max_seqs;
  c.max_batched_tokens = max_tokens;
  c.max_model_len = max_model_len;
  return c;
}

inline RequestSpec spec(RequestId id, std::vector<TokenId> prompt, int max_new, int priority = 0) {
  RequestSpec s;
  s.id = id;
  s.prompt = std::move(prompt);
  s.max_new_tokens = max_new;
  s.priority = priority;
  return s;
}

inline std::vector<TokenId> iota_tokens(TokenId first, int n) {
  std::vector<TokenId> t(n);
  for (int i = 0; i < n; ++i) t[i] = first + i;
  return t;
}

inline void run_table(Scheduler& s, const std::vector<Iteration>& table) {
  for (size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE("iteration " + std::to_string(i + 1));
    const Iteration& it = table[i];
    if (it.before) it.before(s);
    StepPlan plan = s.schedule(at_ms(it.now_ms));
    ASSERT_EQ(plan.seqs.size(), it.seqs.size());
    for (size_t k = 0; k < it.seqs.size(); ++k) {
      const SeqRow& want = it.seqs[k];
      const ScheduledSeq& got = plan.seqs[k];
      SCOPED_TRACE("seq row " + std::to_string(k));
      EXPECT_EQ(got.id, want.id);
      EXPECT_EQ(got.start_pos, want.start);
      EXPECT_EQ(got.num_tokens(), want.num_tokens);
      EXPECT_EQ(got.sample, want.sample);
      EXPECT_EQ(got.block_table, want.blocks);
      EXPECT_EQ(got.padding, want.padding);
      if (!want.tokens.empty()) {
        EXPECT_EQ(got.tokens, want.tokens);
      }
      if (want.cached >= 0) {
        EXPECT_EQ(got.num_cached_tokens, want.cached);
      }
    }
    std::vector<std::pair<BlockId, BlockId>> copies;
    for (const CopyOnWrite& c : plan.copies) copies.emplace_back(c.src, c.dst);
    EXPECT_EQ(copies, it.copies);
    EXPECT_EQ(plan.preempted, it.preempted);
    std::vector<Finish> fin;
    for (const FinishedRequest& f : plan.finished) fin.emplace_back(f.id, f.reason);
    EXPECT_EQ(fin, it.finished_at_schedule);

    std::vector<SampledToken> results(plan.num_logits_rows);
    for (const ScheduledSeq& seq : plan.seqs) {
      if (!seq.sample) continue;
      results[seq.logits_row].token = sampled_token(static_cast<int>(i + 1), seq.logits_row);
      for (RequestId id : it.stop) results[seq.logits_row].stop |= id == seq.id;
    }
    fin.clear();
    for (const FinishedRequest& f : s.update(plan, results)) fin.emplace_back(f.id, f.reason);
    EXPECT_EQ(fin, it.finished_at_update);
  }
}

}  // namespace loom::sched::testing
