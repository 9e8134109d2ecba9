// The element formats of the paged KV cache, shared by the fused RoPE/KV-write
// op (kernels/cuda/ops/rope_kv.cuh), the attention kernels and the backend's
// memory plan. Plain C++ (no CUDA types), so host-only code may include it.
//
// kF16: K and V pools [num_blocks][block_size][n_kv_heads][head_dim] fp16.
// kInt8 (the CPU backend's format, kernels/cpu/kv_quant.h; LMDeploy's
// quant_policy=8): int8 pools of exactly that shape plus one fp32 scale per
// (block, slot, kv head) for each of K and V, [num_blocks][block_size][n_kv_heads]:
//   amax = max_i |x_i| over the head's head_dim values (the fp32 value the
//          writer would otherwise round to fp16: K after RoPE, V as computed)
//   scale = amax / 127;  q_i = clamp(rint(x_i * (127 / amax)), -127, 127)
//          (fp32: one division, one multiply per element, nearest-even)
//   amax == 0: scale 0, q all 0.           Dequantize: x_i = q_i * scale.
// Attention dequantizes on the fly: q.k = scale_k * sum_i q_i * kq_i and
// sum_j p_j v_j = sum_j (p_j * scale_v_j) * vq_j.
#pragma once

#include <cstdint>

namespace loom::cuda {

enum class KvCacheDtype : int32_t { kF16 = 0, kInt8 = 1 };

// Bytes one token's K (or V) takes for one KV head: 2 * head_dim for fp16,
// head_dim + 4 (data + fp32 scale) for int8.
constexpr int64_t kv_cache_bytes_per_head(KvCacheDtype dtype, int64_t head_dim) {
  return dtype == KvCacheDtype::kInt8 ? head_dim + 4 : 2 * head_dim;
}

}  // namespace loom::cuda
