// The Gemma 3 forward pass on the device, in the CPU backend's order of
// operations (backends/cpu/gemma3_forward.h, after llama.cpp's
// src/models/gemma3.cpp): embedding gather (fp32) times sqrt(dim); per layer
// RMSNorm, Q/K/V projections, per-head RMSNorm of q and k (in place), NEOX
// RoPE with the layer's base (rope_freq_base_sliding on sliding-window
// layers, rope_freq_base on global ones) + paged KV write, attention with
// softmax scale query_scale (the CPU's q * query_scale, folded into the
// kernel) over the last sliding_window keys on sliding layers, O projection
// (fp32), post-attention RMSNorm added to the residual fused with the FFN
// pre-norm, gate/up projections, GeGLU (tanh GELU), down projection (fp32),
// post-FFN RMSNorm added to the residual fused with the next pre-norm; final
// norm -> tied LM head -> optional logit soft-cap.
//
// The residual stream x is fp32 (as on the CPU): Gemma's projections before
// their post-norms are not bounded like a pre-norm model's, and enter the
// residual only after normalisation. The norm weights are used as stored
// (the GGUF holds 1 + w).
#pragma once

#include "backends/cuda/cuda_forward.h"

namespace loom::cuda_backend {

class Gemma3Forward final : public CudaForward {
 public:
  Gemma3Forward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
                const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas);
  void enqueue_logits(const StepShape& shape) override;

 private:
  void attention_block(int32_t layer, const StepShape& shape);
  void ffn_block(int32_t layer, int32_t n);

  cuda::RopeConfig rope_global_, rope_sliding_;
  float* xf_ = nullptr;  // [max_tokens][dim] fp32 residual stream
  float* of_ = nullptr;  // [max_tokens][dim] fp32 O / down projection output
};

}  // namespace loom::cuda_backend
