// The Llama forward pass on the device for one step, enqueued on the compute
// stream: embedding -> per layer [RMSNorm, Q/K/V GEMV, RoPE + paged KV write,
// decode/prefill attention, O GEMV, fused residual-add + RMSNorm, gate/up
// GEMV, SwiGLU, down GEMV, fused add + norm] -> gather the sampled rows ->
// LM head (fp32 logits) -> device sampling. Activations are fp16
// [tokens][width] row-major; accumulation fp32 in every kernel.
//
// Every buffer is allocated here once; enqueue() never allocates or syncs,
// so it can be captured into a CUDA graph (decode_graphs.h).
#pragma once
#include <cstdint>

#include "backends/common/model/model_config.h"
#include "backends/cuda/device_weights.h"
#include "backends/cuda/step_metadata.h"
#include "kernels/cuda/common/cublas.cuh"

namespace loom::cuda_backend {

struct ForwardLimits {
  int32_t kv_blocks = 0;    // physical blocks including the padding block (set by allocate_kv)
  int32_t block_size = 16;
  int32_t context = 0;      // decode attention always sizes its split grid for this
  int32_t split_len = 256;  // decode attention split (Flash-Decoding)
};

class CudaForward {
 public:
  CudaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
              const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas);

  // Activation workspace for these capacities (the memory plan needs it before construction).
  static int64_t workspace_bytes(const ModelConfig& c, const StepCapacity& cap, const ForwardLimits& lim);
  static size_t kv_bytes_per_block(const ModelConfig& c, int32_t block_size);

  // Allocates the KV pools: [n_layers][K|V][kv_blocks][block_size][n_kv_heads][head_dim] fp16,
  // kv_blocks including the padding block. Call once, before any enqueue.
  void allocate_kv(int32_t kv_blocks);

  void enqueue_logits(const StepShape& shape);  // -> logits(): [n_rows][n_vocab] fp32
  void enqueue_sample(const StepShape& shape);  // -> out(): tokens, status (penalties hit logits)
  void enqueue(const StepShape& shape) {
    enqueue_logits(shape);
    enqueue_sample(shape);
  }
  // Copies block src to dst in every layer's K and V (copy-on-write).
  void copy_block(int32_t src, int32_t dst);

  // [tokens: max_seqs][status: max_seqs][error flag: 1] int32, device.
  const int32_t* out() const { return out_; }
  const float* logits() const { return logits_; }
  int32_t max_rows() const { return meta_.capacity().max_seqs; }
  int64_t kv_bytes() const { return static_cast<int64_t>(kv_.bytes()); }
  int64_t workspace() const { return static_cast<int64_t>(work_.bytes()); }

 private:
  void attention_block(int32_t layer, const StepShape& shape);
  void ffn_block(int32_t layer, int32_t n);
  // forward_rope.cpp / forward_attention.cpp: the two kernel families declare
  // different loom::cuda::PagedKvCache structs, so they live in separate files.
  void rope_kv_write(int32_t layer, int32_t n);
  void attend(int32_t layer, const StepShape& shape);
  __half* k_pool(int32_t layer) const;
  __half* v_pool(int32_t layer) const;

  const ModelConfig& c_;
  const DeviceWeights& w_;
  const StepMetadata& meta_;
  ForwardLimits lim_;
  cudaStream_t stream_;
  cublasHandle_t cublas_;
  DeviceBuffer work_, kv_;
  // Views into work_ ([max_tokens][width] unless noted).
  __half *x_, *h_, *q_, *k_, *v_, *attn_, *o_, *gate_, *up_, *act_;
  __half* hs_;          // [max_seqs][dim] normed hidden rows that sample
  float* logits_;       // [max_seqs][n_vocab]
  int32_t* out_;        // see out()
  void* decode_ws_;     // decode attention split partials
};

}  // namespace loom::cuda_backend
