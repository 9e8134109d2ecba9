// RoPE + paged KV write for one layer (kernels/cuda/ops/rope_kv.cuh). Kept
// apart from forward_attention.cpp: rope_kv.cuh and attention/paged_kv.cuh
// each define a different loom::cuda::PagedKvCache.
#include "backends/cuda/cuda_forward.h"
#include "kernels/cuda/ops/rope_kv.cuh"

namespace loom::cuda_backend {

void CudaForward::rope_kv_write(int32_t l, int32_t n) {
  cuda::RopeConfig rope;
  rope.mode = c_.rope_style == RopeStyle::kHalves ? cuda::RopeMode::kNeox : cuda::RopeMode::kNorm;
  rope.head_dim = c_.head_dim;
  rope.n_rot = c_.rope_dims;
  rope.freq_base = c_.rope_freq_base;
  rope.freq_scale = c_.rope_freq_scale;
  rope.freq_factors = w_.rope_freq_factors.bytes() ? w_.rope_freq_factors.as<float>() : nullptr;
  const cuda::PagedKvCache cache{k_pool(l), v_pool(l), lim_.kv_blocks, lim_.block_size, c_.n_kv_heads,
                                 c_.head_dim};
  const StepCapacity& cap = meta_.capacity();
  const cuda::KvWriteMap map{meta_.positions(), meta_.seq_of_token(), meta_.block_tables(), cap.max_seqs,
                             cap.max_blocks_per_seq};
  int32_t* error_flag = out_ + 2 * max_rows();
  check_cuda(cuda::launch_rope_kv_write(rope, q_, k_, v_, n, c_.n_heads, cache, map, error_flag, stream_),
             "launch_rope_kv_write");
}

}  // namespace loom::cuda_backend
