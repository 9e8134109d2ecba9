// The Llama-family forward pass on the CPU over a batch of sequence chunks.
// All chunks' tokens go through each weight matrix together (one GEMM per
// matrix per layer); attention reads each sequence's K/V from its own blocks.
// Every output element is computed the same way whatever else is in the
// batch, so results do not depend on batching (tests/model checks this).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backends/common/model/llama_weights.h"
#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_steps.h"
#include "backends/cpu/model_forward.h"
#include "kernels/cpu/rope.h"

namespace loom {

class LlamaForward final : public ModelForward {
 public:
  // max_batch_tokens bounds the tokens of one run() (sizes the workspace).
  LlamaForward(const ModelConfig& config, LlamaWeights weights, ThreadPool* pool, int32_t max_batch_tokens);

  void run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) override;
  int32_t max_batch_tokens() const override { return steps_.max_tokens(); }

 private:
  void attention_block(const LlamaLayerWeights& w, std::span<const SequenceChunk> batch, CpuKvCache& kv,
                       int32_t layer);
  void ffn_block(const LlamaLayerWeights& w);
  void add_bias(float* rows, const float* bias, int64_t width);

  const ModelConfig& c_;
  LlamaWeights w_;
  ThreadPool* pool_;
  ForwardSteps steps_;
  cpu::RopeParams rope_;
  int64_t n_ = 0;  // tokens in the current batch
  // Workspace, [max_tokens][width] row-major.
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_;
};

}  // namespace loom
