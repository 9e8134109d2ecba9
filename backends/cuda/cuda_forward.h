// The forward pass on the device for one step, enqueued on the compute
// stream. CudaForward holds what every model family shares: the activation
// workspace, the KV cache, the step metadata, and the steps built on them
// (embedding gather, RoPE + paged KV write, decode/prefill attention with an
// optional sliding window, gather of the sampled rows + LM head, device
// sampling). Each family's layer math is a subclass, one file set per family:
//   llama_forward.*   Llama, Qwen2 (pre-norm blocks, SwiGLU, Q/K/V biases)
//   gemma3_forward.*  Gemma 3 (pre/post-norms, QK-norm, GeGLU, local/global layers)
// and CudaForward::create picks it from ModelConfig::family. Activations are
// fp16 [tokens][width] row-major; accumulation fp32 in every kernel.
//
// Every buffer is allocated at construction; enqueue() never allocates or
// syncs, so it can be captured into a CUDA graph (decode_graphs.h).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cuda/device_weights.h"
#include "backends/cuda/step_metadata.h"
#include "kernels/cuda/common/cublas.cuh"
#include "kernels/cuda/ops/rope_kv.cuh"

namespace loom::cuda_backend {

struct ForwardLimits {
  int32_t kv_blocks = 0;    // physical blocks including the padding block (set by allocate_kv)
  int32_t window_blocks = 0;  // the sliding layers' pool, padding block included; 0: none (allocate_kv)
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
  virtual ~CudaForward() = default;
  CudaForward(const CudaForward&) = delete;
  CudaForward& operator=(const CudaForward&) = delete;

  // The forward pass of config.family over `weights` (uploaded for that family).
  static std::unique_ptr<CudaForward> create(const ModelConfig& config, const DeviceWeights& weights,
                                             const StepMetadata& meta, const ForwardLimits& limits,
                                             cudaStream_t stream, cublasHandle_t cublas);

  static size_t kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8 = false);

  // Allocates the KV pools, kv_blocks including the padding block. fp16:
  // [n_layers][K|V][blocks of the layer][block_size][n_kv_heads][head_dim] fp16;
  // int8: the same shape in int8, then [n_layers][K|V][blocks of the layer]
  // [block_size][n_kv_heads] fp32 scales. window_blocks > 0 (padding block
  // included): the sliding-window layers have that many blocks (the window
  // pool, indexed by the steps' window block tables), the others kv_blocks.
  // Call once, before any enqueue.
  void allocate_kv(int32_t kv_blocks, int32_t window_blocks = 0);
  // Bytes of one block of the sliding-window layers alone (0: the model has none).
  static size_t window_kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8 = false);

  virtual void enqueue_logits(const StepShape& shape) = 0;  // -> logits(): [n_rows][n_vocab] fp32
  void enqueue_sample(const StepShape& shape);  // -> out(): tokens, status (penalties hit logits)
  void enqueue(const StepShape& shape) {
    enqueue_logits(shape);
    enqueue_sample(shape);
  }
  // Copies block src to dst in every layer's K and V of one pool, scales
  // included (copy-on-write); window: the window pool's layers, else the
  // others (without a window pool: every layer, and window copies are no-ops).
  void copy_block(int32_t src, int32_t dst, bool window = false);

  // [tokens: max_seqs][status: max_seqs][error flag: 1] int32, device.
  const int32_t* out() const { return out_; }
  const float* logits() const { return logits_; }
  int32_t max_rows() const { return meta_.capacity().max_seqs; }
  int64_t kv_bytes() const { return static_cast<int64_t>(kv_.bytes()); }
  // Shared workspace plus the family's own buffers.
  int64_t workspace() const { return static_cast<int64_t>(work_.bytes() + family_work_.bytes()); }

 protected:
  CudaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
              const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas);

  // forward_rope.cpp / forward_attention.cpp / forward_kv_cache.cpp: the KV
  // write, attention, and the KV cache's storage; both kernels dispatch on
  // the cache dtype (lim_.kv_int8).
  // The model's RoPE (style, dims, freq factors) with this base and scale.
  cuda::RopeConfig rope_config(float freq_base, float freq_scale) const;
  // RoPE on q_ in place; rotated k_ and v_ into layer `layer`'s cache.
  void rope_kv_write(int32_t layer, int32_t n, const cuda::RopeConfig& rope);
  // attn_ = attention of q_ over layer `layer`'s cache with softmax scale
  // `scale`; window > 0: the query at position p sees keys [p - window + 1, p].
  void attend(int32_t layer, const StepShape& shape, float scale, int32_t window);
  KvLayerPools kv_pools(int32_t layer) const;
  // Whether layer `layer` keeps its KV in the window pool; its pool's blocks
  // (padding block included) and the step's block tables over that pool.
  bool in_window_pool(int32_t layer) const { return lim_.window_blocks > 0 && c_.is_sliding(layer); }
  int32_t layer_blocks(int32_t layer) const { return in_window_pool(layer) ? lim_.window_blocks : lim_.kv_blocks; }
  const int32_t* block_tables(int32_t layer) const {
    return in_window_pool(layer) ? meta_.window_block_tables() : meta_.block_tables();
  }
  // Gathers the sampling rows of h_ (final-normed) into hs_ and runs the LM
  // head into logits_ (fp32). No-op for steps without logits rows.
  void lm_head(const StepShape& shape);
  int32_t* error_flag() const { return out_ + 2 * max_rows(); }
  // Carves `bytes` more device memory for the family (constructor only).
  void* family_workspace(size_t bytes);

  const ModelConfig& c_;
  const DeviceWeights& w_;
  const StepMetadata& meta_;
  ForwardLimits lim_;
  cudaStream_t stream_;
  cublasHandle_t cublas_;
  DeviceBuffer work_, family_work_, kv_;
  // Views into work_ ([max_tokens][width] unless noted).
  __half *x_, *h_, *q_, *k_, *v_, *attn_, *o_, *gate_, *up_, *act_;
  __half* hs_;          // [max_seqs][dim] normed hidden rows that sample
  float* logits_;       // [max_seqs][n_vocab]
  int32_t* out_;        // see out()
  void* decode_ws_;     // decode attention split partials
  // forward_kv_cache.cpp: where each layer's K starts, in (token, kv head)
  // slots from the pool's start (its V follows), and the slots of all layers.
  std::vector<size_t> layer_slot_;
  size_t total_slots_ = 0;
};

}  // namespace loom::cuda_backend
