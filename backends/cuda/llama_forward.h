// The Llama-family forward pass (llama, qwen2) on the device: embedding ->
// per layer [RMSNorm, Q/K/V GEMV, (+ Q/K/V bias), RoPE + paged KV write,
// decode/prefill attention, O GEMV, fused residual-add + RMSNorm, gate/up
// GEMV, SwiGLU, down GEMV, fused add + norm] -> gather the sampled rows ->
// LM head (fp32 logits). fp16 residual stream.
#pragma once

#include "backends/cuda/cuda_forward.h"

namespace loom::cuda_backend {

class LlamaForward final : public CudaForward {
 public:
  LlamaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
               const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas);
  void enqueue_logits(const StepShape& shape) override;

 private:
  void attention_block(int32_t layer, const StepShape& shape);
  void ffn_block(int32_t layer, int32_t n);
  void add_qkv_bias(int32_t layer, int32_t n);  // no-op for models without Q/K/V biases

  cuda::RopeConfig rope_;
};

}  // namespace loom::cuda_backend
