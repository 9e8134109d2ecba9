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

// The two elements a thread of the KV-write owns and their fp32 values.
struct Pair {
  int ia, ib;
  float xa, xb;
};

// Rotates pair i of `src` at `pos`: element indices and fp32 results (before
// any rounding to the cache's format).
__device__ __forceinline__ Pair rotate_pair(RopeArgs a, const __half* src, int i, int pos) {
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
  return {ia, ib, __fadd_rn(__fmul_rn(x0, c), -__fmul_rn(x1, s)),
          __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c))};
}

__device__ __forceinline__ void rotate_pair_f16(RopeArgs a, const __half* src, __half* dst, int i,
                                                int pos) {
  const Pair p = rotate_pair(a, src, i, pos);
  dst[p.ia] = __float2half_rn(p.xa);
  dst[p.ib] = __float2half_rn(p.xb);
}

// max that keeps a NaN (as kernels/cpu/kv_quant.cpp: the scale shows it).
__device__ __forceinline__ float max_nan(float a, float b) {
  return (b > a || b != b) ? b : a;
}

// int8 quant of x given inv = 127 / amax (kv_cache_format.cuh); rintf rounds
// to nearest even like __float2int_rn, and the clamp keeps NaN defined.
__device__ __forceinline__ int8_t quantize(float x, float inv) {
  return static_cast<int8_t>(fminf(fmaxf(rintf(__fmul_rn(x, inv)), -127.0f), 127.0f));
}

// Quantizes K (rotated, fp32) and V of one (token, kv head) into the int8
// cache slot. Thread tid < head_dim/2 owns two elements: rotated pair tid
// when tid < n_rot/2, else the pass-through pair n_rot + 2(tid - n_rot/2).
// The head's amax (K and V at once) is a shuffle max per warp, then over the
// <= 4 warps through `red`; one extra barrier per (token, kv head).
// `red` is the kernel's shared float [4][2] (a template: the emulator's
// shared arrays are bounds-checked wrappers).
template <class Red>
__device__ __forceinline__ void write_int8(RopeArgs a, const __half* k_src, const __half* v_src,
                                           int pos, const PagedKvWriteTarget& cache, int64_t slot,
                                           Red& red) {
  const int tid = threadIdx.x, d = a.head_dim;
  Pair k{0, 0, 0.0f, 0.0f};
  if (tid < a.n_rot / 2) {
    k = rotate_pair(a, k_src, tid, pos);
  } else if (tid < d / 2) {
    k.ia = a.n_rot + 2 * (tid - a.n_rot / 2);
    k.ib = k.ia + 1;
    k.xa = __half2float(k_src[k.ia]);
    k.xb = __half2float(k_src[k.ib]);
  }
  const bool owns = tid < d / 2;
  const float va = owns ? __half2float(v_src[k.ia]) : 0.0f;
  const float vb = owns ? __half2float(v_src[k.ib]) : 0.0f;
  float amax_k = max_nan(fabsf(k.xa), fabsf(k.xb)), amax_v = max_nan(fabsf(va), fabsf(vb));
#pragma unroll
  for (int o = 16; o > 0; o /= 2) {
    amax_k = max_nan(amax_k, __shfl_xor_sync(0xffffffffu, amax_k, o));
    amax_v = max_nan(amax_v, __shfl_xor_sync(0xffffffffu, amax_v, o));
  }
  if (tid % 32 == 0) red[tid / 32][0] = amax_k, red[tid / 32][1] = amax_v;
  __syncthreads();
  amax_k = red[0][0], amax_v = red[0][1];
  for (int w = 1; w < static_cast<int>(blockDim.x) / 32; ++w)
    amax_k = max_nan(amax_k, red[w][0]), amax_v = max_nan(amax_v, red[w][1]);
  if (tid == 0) {
    cache.k_scale[slot] = amax_k / 127.0f;
    cache.v_scale[slot] = amax_v / 127.0f;
  }
  if (!owns) return;
  // amax == 0: inv = +inf and 0 * inf = NaN -> use 0, so every quant is 0.
  const float inv_k = amax_k == 0.0f ? 0.0f : 127.0f / amax_k;
  const float inv_v = amax_v == 0.0f ? 0.0f : 127.0f / amax_v;
  int8_t* kq = cache.k_q + slot * d;
  int8_t* vq = cache.v_q + slot * d;
  kq[k.ia] = quantize(k.xa, inv_k);
  kq[k.ib] = quantize(k.xb, inv_k);
  vq[k.ia] = quantize(va, inv_v);
  vq[k.ib] = quantize(vb, inv_v);
}

// blockIdx.y < n_heads: a Q head, rotated in place. Otherwise KV head
// blockIdx.y - n_heads: rotated K and V copied into the cache slot.
__global__ void rope_kv_kernel(RopeArgs a, __half* __restrict__ q, const __half* __restrict__ k,
                               const __half* __restrict__ v, int32_t n_heads,
                               PagedKvWriteTarget cache, KvWriteMap map, int32_t* status) {
  LOOM_SHARED(float, red, [4][2]);  // int8: per-warp amax of K and V
  const int t = blockIdx.x, h = blockIdx.y;
  const int pos = map.positions[t];
  const int d = a.head_dim;
  if (h < n_heads) {
    __half* head = q + (static_cast<int64_t>(t) * n_heads + h) * d;
    for (int i = threadIdx.x; i < a.n_rot / 2; i += blockDim.x) rotate_pair_f16(a, head, head, i, pos);
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
  if (cache.dtype == KvCacheDtype::kInt8) {
    write_int8(a, k_src, v_src, pos, cache, slot, red);
    return;
  }
  __half* k_dst = cache.k + slot * d;
  __half* v_dst = cache.v + slot * d;
  for (int i = threadIdx.x; i < a.n_rot / 2; i += blockDim.x) rotate_pair_f16(a, k_src, k_dst, i, pos);
  for (int e = a.n_rot + threadIdx.x; e < d; e += blockDim.x) k_dst[e] = k_src[e];
  for (int e = threadIdx.x; e < d; e += blockDim.x) v_dst[e] = v_src[e];
}

}  // namespace

cudaError_t launch_rope_kv_write(const RopeConfig& rope, __half* q, const __half* k,
                                 const __half* v, int32_t n_tokens, int32_t n_heads,
                                 const PagedKvWriteTarget& cache, const KvWriteMap& map,
                                 int32_t* status, cudaStream_t stream) {
  const int d = rope.head_dim;
  const bool shapes_ok = d >= 2 && d <= 256 && d % 2 == 0 && rope.n_rot > 0 && rope.n_rot % 2 == 0 &&
                         rope.n_rot <= d && cache.head_dim == d && cache.n_kv_heads > 0 &&
                         n_heads > 0 && n_heads % cache.n_kv_heads == 0 && cache.block_size > 0 &&
                         cache.num_blocks > 0 && n_tokens >= 0 && map.n_seqs > 0 &&
                         map.max_blocks_per_seq > 0;
  const bool int8 = cache.dtype == KvCacheDtype::kInt8;
  const bool cache_ok = int8 ? cache.k_q && cache.v_q && cache.k_scale && cache.v_scale
                             : cache.dtype == KvCacheDtype::kF16 && cache.k && cache.v;
  const bool ptrs_ok = q && k && v && cache_ok && map.positions && map.seq_of_token &&
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
