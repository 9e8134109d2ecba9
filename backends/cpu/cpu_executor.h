// Runs scheduler steps on the CPU model: copy-on-write block copies, one
// batched forward pass over every scheduled chunk, then per-row sampling and,
// for prompt_logprobs chunks (all positions' logits), the log-probability of
// each position's next prompt token.
#pragma once
#include <memory>
#include <vector>

#include "backends/common/engine/executor.h"
#include "backends/cpu/cpu_model.h"

namespace loom {

class CpuExecutor final : public Executor {
 public:
  explicit CpuExecutor(CpuModel& model);

  std::vector<sampling::SampleResult> execute(const sched::StepPlan& plan,
                                              std::span<const RowSampling> rows) override;
  bool supports_prompt_logprobs() const override { return true; }
  std::span<const float> prompt_logprobs(size_t seq_index) const override;
  int32_t num_kv_blocks() const override { return model_.kv_cache().num_blocks(); }
  int32_t num_window_kv_blocks() const override { return model_.kv_cache().num_window_blocks(); }
  int32_t window_keep_tokens() const override;
  int32_t block_size() const override { return model_.kv_cache().block_size(); }
  int32_t max_batch_tokens() const override { return model_.max_batch_tokens(); }
  int32_t max_context() const override { return model_.context(); }

 private:
  void copy_block(int32_t src, int32_t dst, bool window);

  CpuModel& model_;
  std::vector<float> logits_;  // [rows][n_vocab], reused across steps
  std::vector<std::vector<float>> prompt_logprobs_;  // per plan seq of the last step
};

// log_softmax(logits)[target] in float64: max-shifted, the sum of exp in double.
double log_softmax_at(std::span<const float> logits, int32_t target);

}  // namespace loom
