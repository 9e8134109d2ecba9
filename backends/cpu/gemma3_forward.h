// The Gemma 3 forward pass on the CPU, in llama.cpp's order of operations
// (src/models/gemma3.cpp): embeddings times sqrt(dim); per layer RMSNorm,
// q/k/v, per-head RMSNorm of q and k, NEOX RoPE (the sliding-window layers
// with their own base), q times the query scale, attention (the last
// `sliding_window` keys only on sliding-window layers), output projection,
// RMSNorm, residual; then RMSNorm, GeGLU FFN, RMSNorm, residual. Batch
// invariant like the Llama pass.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backends/common/model/gemma3_weights.h"
#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_steps.h"
#include "backends/cpu/model_forward.h"
#include "kernels/cpu/rope.h"

namespace loom {

class Gemma3Forward final : public ModelForward {
 public:
  Gemma3Forward(const ModelConfig& config, Gemma3Weights weights, ThreadPool* pool, int32_t max_batch_tokens);

  void run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) override;
  int32_t max_batch_tokens() const override { return steps_.max_tokens(); }

 private:
  void attention_block(const Gemma3LayerWeights& w, std::span<const SequenceChunk> batch, CpuKvCache& kv,
                       int32_t layer);
  void ffn_block(const Gemma3LayerWeights& w);

  const ModelConfig& c_;
  Gemma3Weights w_;
  ThreadPool* pool_;
  ForwardSteps steps_;
  cpu::RopeParams rope_global_, rope_sliding_;
  int64_t n_ = 0;  // tokens in the current batch
  // Workspace, [max_tokens][width] row-major.
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_;
};

}  // namespace loom
