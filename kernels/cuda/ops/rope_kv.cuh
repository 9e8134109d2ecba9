// RoPE on Q and K fused with writing K and V into the paged KV cache.
// Same formula as loom::cpu::rope_apply (ggml's rope, no YaRN): for pair i,
//   theta_i = freq_scale * ((pos * theta_scale^i) / freq_factors[i]),
//   theta_scale = powf(freq_base, -2 / n_rot) (computed on the host by the
//   launcher with std::pow, as the CPU does), pos * theta_scale^i built by
//   repeated float multiplication. NORM rotates (2i, 2i+1), NEOX (i, i + n_rot/2);
//   dims >= n_rot pass through. fp32 math; the angle is reduced to [-pi, pi] in
//   double and cos/sin taken with __cosf/__sinf (|error| < 5e-7).
// The cache is fp16 (each value rounded once) or int8 with per-(token, kv
// head) fp32 scales (kernels/cuda/attention/kv_cache_format.cuh), quantized
// from the fp32 rotated K and the V values (fp16 inputs, exact in fp32).
#pragma once

#include <cstdint>

#include "kernels/cuda/attention/kv_cache_format.cuh"
#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

enum class RopeMode : int32_t { kNorm = 0, kNeox = 1 };

struct RopeConfig {
  RopeMode mode = RopeMode::kNorm;
  int32_t head_dim = 0;                 // 2..256, even
  int32_t n_rot = 0;                    // even, <= head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              // 1 / linear scaling factor
  const float* freq_factors = nullptr;  // [n_rot/2] device fp32 divisors (llama3), or null
};

// The paged cache of one layer as the writer sees it (the attention kernels
// read it through PagedKvCache, attention/paged_kv.cuh), the same layout as
// loom::cpu::PagedKvMut / PagedKvInt8Mut.
struct PagedKvWriteTarget {
  __half* k = nullptr;  // kF16: [num_blocks][block_size][n_kv_heads][head_dim] fp16
  __half* v = nullptr;  // kF16: same shape as k
  int32_t num_blocks = 0;
  int32_t block_size = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  KvCacheDtype dtype = KvCacheDtype::kF16;
  int8_t* k_q = nullptr;     // kInt8: [num_blocks][block_size][n_kv_heads][head_dim] int8
  int8_t* v_q = nullptr;     // kInt8: same shape as k_q
  float* k_scale = nullptr;  // kInt8: [num_blocks][block_size][n_kv_heads] fp32
  float* v_scale = nullptr;  // kInt8: same shape as k_scale
};

// Where each new token goes: token t of the step belongs to sequence
// seq_of_token[t], has position positions[t], and lands in physical block
// block_tables[seq * max_blocks_per_seq + positions[t] / block_size], slot
// positions[t] % block_size.
struct KvWriteMap {
  const int32_t* positions = nullptr;     // [n_tokens]
  const int32_t* seq_of_token = nullptr;  // [n_tokens], in [0, n_seqs)
  const int32_t* block_tables = nullptr;  // [n_seqs][max_blocks_per_seq]
  int32_t n_seqs = 0;
  int32_t max_blocks_per_seq = 0;
};

// q:      [n_tokens][n_heads][head_dim] fp16, rotated in place.
// k, v:   [n_tokens][n_kv_heads][head_dim] fp16, read only; rotated K and
//         plain V are stored into `cache` (int8: quantized per token and kv
//         head, the head's amax reduced over the block by warp shuffles).
// status: optional device int32, set to 1 when a token's sequence, position or
//         block falls outside the map/cache (that token's K/V is not written).
// Grid (n_tokens, n_heads + n_kv_heads), one block of head_dim/2 threads
// rounded up to a warp per (token, head). Returns cudaErrorInvalidValue for
// bad shapes (n_heads not a multiple of n_kv_heads, head_dim mismatch, ...).
cudaError_t launch_rope_kv_write(const RopeConfig& rope, __half* q, const __half* k,
                                 const __half* v, int32_t n_tokens, int32_t n_heads,
                                 const PagedKvWriteTarget& cache, const KvWriteMap& map, int32_t* status,
                                 cudaStream_t stream);

}  // namespace loom::cuda
