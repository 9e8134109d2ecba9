// RoPE + paged KV write for one layer (kernels/cuda/ops/rope_kv.cuh) into the
// fp16 or the int8 cache (quantized per token and KV head by the same kernel).
#include "backends/cuda/cuda_forward.h"

namespace loom::cuda_backend {

cuda::RopeConfig CudaForward::rope_config(float freq_base, float freq_scale) const {
  cuda::RopeConfig rope;
  rope.mode = c_.rope_style == RopeStyle::kHalves ? cuda::RopeMode::kNeox : cuda::RopeMode::kNorm;
  rope.head_dim = c_.head_dim;
  rope.n_rot = c_.rope_dims;
  rope.freq_base = freq_base;
  rope.freq_scale = freq_scale;
  rope.freq_factors = w_.rope_freq_factors.bytes() ? w_.rope_freq_factors.as<float>() : nullptr;
  return rope;
}

void CudaForward::rope_kv_write(int32_t l, int32_t n, const cuda::RopeConfig& rope) {
  const KvLayerPools pools = kv_pools(l);
  cuda::PagedKvWriteTarget cache;
  cache.k = pools.k;
  cache.v = pools.v;
  cache.num_blocks = layer_blocks(l);
  cache.block_size = lim_.block_size;
  cache.n_kv_heads = c_.n_kv_heads;
  cache.head_dim = c_.head_dim;
  cache.dtype = lim_.kv_int8 ? cuda::KvCacheDtype::kInt8 : cuda::KvCacheDtype::kF16;
  cache.k_q = pools.k_q;
  cache.v_q = pools.v_q;
  cache.k_scale = pools.k_scale;
  cache.v_scale = pools.v_scale;
  const StepCapacity& cap = meta_.capacity();
  const cuda::KvWriteMap map{meta_.positions(), meta_.seq_of_token(), block_tables(l), cap.max_seqs,
                             cap.max_blocks_per_seq};
  check_cuda(cuda::launch_rope_kv_write(rope, q_, k_, v_, n, c_.n_heads, cache, map, error_flag(), stream_),
             "launch_rope_kv_write");
}

}  // namespace loom::cuda_backend
