// Runs scheduler steps on a CudaModel: copy-on-write block copies, the
// step's metadata upload (pinned, one copy), the forward pass (a CUDA-graph
// replay for decode-only steps of a captured size, eager otherwise), device
// sampling, and one download of the sampled token ids. The host then
// advances each row's Sampler exactly as Sampler::sample would have.
#pragma once
#include <vector>

#include "backends/common/engine/executor.h"
#include "backends/cuda/cuda_model.h"

namespace loom {

class CudaExecutor final : public Executor {
 public:
  explicit CudaExecutor(CudaModel& model);

  std::vector<sampling::SampleResult> execute(const sched::StepPlan& plan,
                                              std::span<const RowSampling> rows) override;
  int32_t num_kv_blocks() const override { return model_.num_kv_blocks(); }
  int32_t num_window_kv_blocks() const override { return model_.num_window_kv_blocks(); }
  int32_t window_keep_tokens() const override { return model_.window_keep_tokens(); }
  int32_t block_size() const override { return model_.block_size(); }
  int32_t max_batch_tokens() const override { return model_.max_batch_tokens(); }
  int32_t max_context() const override { return model_.context(); }

  // Test/diagnostic hook: the logits rows of the last step, [num_logits_rows][n_vocab]
  // in plan logits_row order, as the device sampler saw them (penalties applied).
  std::vector<float> last_logits() const;
  int64_t graph_steps() const { return graph_steps_; }
  int64_t eager_steps() const { return eager_steps_; }

 private:
  std::vector<sampling::SampleResult> collect(const cuda_backend::StepShape& shape,
                                              std::span<const RowSampling> rows,
                                              const std::vector<std::vector<float>>& raw_logits);
  std::vector<std::vector<float>> download_rows_for_logprobs(const cuda_backend::StepShape& shape,
                                                             std::span<const RowSampling> rows);

  CudaModel& model_;
  cuda_backend::PinnedBuffer download_;  // [tokens: max_seqs][status: max_seqs][error flag]
  cuda_backend::StepShape last_shape_;
  int64_t graph_steps_ = 0, eager_steps_ = 0;
};

}  // namespace loom
