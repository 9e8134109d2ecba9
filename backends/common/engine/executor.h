// What a backend implements to run scheduler steps: the forward pass and the
// sampling of one token per logits row. Policy stays in the scheduler; the
// executor never decides which sequences run.
#pragma once
#include <span>
#include <stdexcept>
#include <vector>

#include "backends/common/sampling/sampler.h"
#include "scheduler/step_plan.h"

namespace loom {

// Per logits row of a plan (index = ScheduledSeq::logits_row): the request's
// sampler and how many alternatives to report (0: no logprobs).
struct RowSampling {
  sampling::Sampler* sampler = nullptr;
  int32_t top_logprobs = 0;
  bool want_logprobs = false;
};

// Thrown by execute() when the backend cannot go on (the device is lost, a
// sticky device error, memory exhausted inside a step). The engine then
// fails: every accepted job ends with one `internal` error at once, health
// turns not ok, and new jobs are refused (the host exits). Any other
// exception from execute() fails only that step's jobs.
struct ExecutorFatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Applies plan.copies, computes the KV of every scheduled token, and
  // returns one sample per logits row (result[i] for logits_row i). Each
  // row's Sampler records its token (penalty window, RNG counter), exactly
  // as Sampler::sample does. Penalties cover generated tokens only.
  virtual std::vector<sampling::SampleResult> execute(const sched::StepPlan& plan,
                                                      std::span<const RowSampling> rows) = 0;
  // Prompt log-probabilities (sched::ScheduledSeq::logprob_targets). A
  // backend that computes them returns true here, and after each execute()
  // prompt_logprobs(i) holds, for plan.seqs[i], one natural-log value per
  // target: log_softmax(logits at start_pos + k)[target[k]], accumulated in
  // float64. A backend that returns false never sees such a sequence: the
  // engine refuses prompt_logprobs jobs at intake.
  virtual bool supports_prompt_logprobs() const { return false; }
  virtual std::span<const float> prompt_logprobs(size_t /*seq_index*/) const { return {}; }
  virtual int32_t num_kv_blocks() const = 0;
  // A window pool for sliding-window layers (sched::SchedulerConfig::
  // window_blocks, window_keep_tokens); 0: none, every layer in one pool.
  virtual int32_t num_window_kv_blocks() const { return 0; }
  virtual int32_t window_keep_tokens() const { return 0; }
  virtual int32_t block_size() const = 0;
  virtual int32_t max_batch_tokens() const = 0;
  virtual int32_t max_context() const = 0;
};

}  // namespace loom
