#include "kernels/cuda/ops/rope_kv.cuh"

#include <cmath>

namespace loom::cuda {
namespace {

struct RopeArgs {
  RopeMode mode;
  int32_t head_dim, n_rot;
  float theta_scale, freq_scale;
  const float* freq_factors;
};

// Rotates pair i of `src` into `dst` (fp16 -> fp32 math -> fp16) at `pos`.
__device__ __forceinline__ void rotate_pair(RopeArgs a, const __half* src, __half* dst, int i, int pos) {
  float theta = static_cast<float>(pos);
  for (int j = 0; j < i; ++j) theta *= a.theta_scale;  // as ggml: repeated multiplication
  const float ff = a.freq_factors ? a.freq_factors[i] : 1.0f;
  const float angle = a.freq_scale * (theta / ff);
  // Reduce to [-pi, pi] in double (exact enough for any position), then the
  // fast intrinsics (abs error ~4e-7 there). cosf/sinf's large-argument path
  // would put a Payne-Hanek table in local memory, which the build forbids.
  const double two_pi = 6.283185307179586476925286766559;
  const float r = static_cast<float>(angle - two_pi * rint(angle / two_pi));
  const float c = __cosf(r), s = __sinf(r);
  const int half = a.n_rot / 2;
  const int ia = a.mode == RopeMode::kNeox ? i : 2 * i;
  const int ib = a.mode == RopeMode::kNeox ? i + half : 2 * i + 1;
  const float x0 = __half2float(src[ia]), x1 = __half2float(src[ib]);
  // __fmul_rn/__fadd_rn: no FMA contraction, so the rounding is the CPU's.
  dst[ia] = __float2half_rn(__fadd_rn(__fmul_rn(x0, c), -__fmul_rn(x1, s)));
  dst[ib] = __float2half_rn(__fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c)));
}

// blockIdx.y < n_heads: a Q head, rotated in place. Otherwise KV head
// blockIdx.y - n_heads: rotated K and V copied into the cache slot.
__global__ void rope_kv_kernel(RopeArgs a, __half* __restrict__ q, const __half* __restrict__ k,
                               const __half* __restrict__ v, int32_t n_heads, PagedKvCache cache,
                               KvWriteMap map, int32_t* status) {
  const int t = blockIdx.x, h = blockIdx.y;
  const int pos = map.positions[t];
  const int d = a.head_dim;
  if (h < n_heads) {
    __half* head = q + (static_cast<int64_t>(t) * n_heads + h) * d;
    for (int i = threadIdx.x; i < a.n_rot / 2; i += blockDim.x) rotate_pair(a, head, head, i, pos);
    return;
  }
  const int kvh = h - n_heads;
  const int seq = map.seq_of_token[t];
  const int logical = pos >= 0 ? pos / cache.block_size : -1;
  const bool seq_ok = seq >= 0 && seq < map.n_seqs;
  const bool logical_ok = seq_ok && logical >= 0 && logical < map.max_blocks_per_seq;
  const int phys = logical_ok ? map.block_tables[int64_t{seq} * map.max_blocks_per_seq + logical] : -1;
  if (phys < 0 || phys >= cache.num_blocks) {
    if (threadIdx.x == 0 && status) atomicExch(status, 1);
    return;
  }
  const int64_t slot = (int64_t{phys} * cache.block_size + pos % cache.block_size) * cache.n_kv_heads + kvh;
  const __half* k_src = k + (static_cast<int64_t>(t) * cache.n_kv_heads + kvh) * d;
  const __half* v_src = v + (static_cast<int64_t>(t) * cache.n_kv_heads + kvh) * d;
  __half* k_dst = cache.k + slot * d;
  __half* v_dst = cache.v + slot * d;
  for (int i = threadIdx.x; i < a.n_rot / 2; i += blockDim.x) rotate_pair(a, k_src, k_dst, i, pos);
  for (int e = a.n_rot + threadIdx.x; e < d; e += blockDim.x) k_dst[e] = k_src[e];
  for (int e = threadIdx.x; e < d; e += blockDim.x) v_dst[e] = v_src[e];
}

}  // namespace

cudaError_t launch_rope_kv_write(const RopeConfig& rope, __half* q, const __half* k,
                                 const __half* v, int32_t n_tokens, int32_t n_heads,
                                 const PagedKvCache& cache, const KvWriteMap& map, int32_t* status,
                                 cudaStream_t stream) {
  const int d = rope.head_dim;
  const bool shapes_ok = d >= 2 && d <= 256 && d % 2 == 0 && rope.n_rot > 0 && rope.n_rot % 2 == 0 &&
                         rope.n_rot <= d && cache.head_dim == d && cache.n_kv_heads > 0 &&
                         n_heads > 0 && n_heads % cache.n_kv_heads == 0 && cache.block_size > 0 &&
                         cache.num_blocks > 0 && n_tokens >= 0 && map.n_seqs > 0 &&
                         map.max_blocks_per_seq > 0;
  const bool ptrs_ok = q && k && v && cache.k && cache.v && map.positions && map.seq_of_token &&
                       map.block_tables;
  const bool freq_ok = rope.freq_base > 0.0f && std::isfinite(rope.freq_base) &&
                       rope.freq_scale > 0.0f && std::isfinite(rope.freq_scale);
  if (!shapes_ok || !ptrs_ok || !freq_ok) return cudaErrorInvalidValue;
  if (n_tokens == 0) return cudaSuccess;
  // The CPU computes theta_scale the same way (float std::pow).
  const RopeArgs a{rope.mode, d, rope.n_rot,
                   std::pow(rope.freq_base, -2.0f / static_cast<float>(rope.n_rot)),
                   rope.freq_scale, rope.freq_factors};
  const int threads = ((d / 2 + 31) / 32) * 32;
  return loom_launch(rope_kv_kernel, dim3(n_tokens, n_heads + cache.n_kv_heads), dim3(threads), 0,
                     stream, a, q, k, v, n_heads, cache, map, status);
}

}  // namespace loom::cuda
