// The Llama forward pass on the device for one step, enqueued on the compute
// stream: embedding -> per layer [RMSNorm, Q/K/V GEMV, (+ Q/K/V bias), RoPE + paged KV write,
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
  bool kv_int8 = false;     // int8 KV cache + fp32 scales (kernels/cuda/attention/kv_cache_format.cuh)
};

// One layer's KV pools on the device (forward_kv_cache.cpp): the fp16 pools,
// or the int8 pools and their scales, per ForwardLimits::kv_int8.
struct KvLayerPools {
  __half* k = nullptr;       // fp16: [kv_blocks][block_size][n_kv_heads][head_dim]
  __half* v = nullptr;
  int8_t* k_q = nullptr;     // int8: [kv_blocks][block_size][n_kv_heads][head_dim]
  int8_t* v_q = nullptr;
  float* k_scale = nullptr;  // int8: [kv_blocks][block_size][n_kv_heads]
  float* v_scale = nullptr;
};

class CudaForward {
 public:
  CudaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
              const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas);

  // Activation workspace for these capacities (the memory plan needs it before construction).
  static int64_t workspace_bytes(const ModelConfig& c, const StepCapacity& cap, const ForwardLimits& lim);
  static size_t kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8 = false);

  // Allocates the KV pools, kv_blocks including the padding block. fp16:
  // [n_layers][K|V][kv_blocks][block_size][n_kv_heads][head_dim] fp16; int8:
  // the same shape in int8, then [n_layers][K|V][kv_blocks][block_size][n_kv_heads]
  // fp32 scales. Call once, before any enqueue.
  void allocate_kv(int32_t kv_blocks);

  void enqueue_logits(const StepShape& shape);  // -> logits(): [n_rows][n_vocab] fp32
  void enqueue_sample(const StepShape& shape);  // -> out(): tokens, status (penalties hit logits)
  void enqueue(const StepShape& shape) {
    enqueue_logits(shape);
    enqueue_sample(shape);
  }
  // Copies block src to dst in every layer's K and V, scales included (copy-on-write).
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
  void add_qkv_bias(int32_t layer, int32_t n);  // no-op for models without Q/K/V biases
  // forward_rope.cpp / forward_attention.cpp / forward_kv_cache.cpp: the KV
  // write, attention, and the KV cache's storage; both kernels dispatch on
  // the cache dtype (lim_.kv_int8).
  void rope_kv_write(int32_t layer, int32_t n);
  void attend(int32_t layer, const StepShape& shape);
  KvLayerPools kv_pools(int32_t layer) const;

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
