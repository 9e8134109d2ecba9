// Device-side helpers over PagedKvCache shared by the attention kernels
// (included by .cu files only).
#pragma once

#include <cstdint>

#include "kernels/cuda/attention/paged_kv.cuh"

namespace loom::cuda::paged_kv {

// Where one sequence's blocks are, read once per thread block.
struct SeqTable {
  const int32_t* blocks;  // [n_blocks] physical ids of the sequence's logical blocks
  int32_t n_blocks;
  int32_t len;  // kv_len[b]
};

__device__ __forceinline__ SeqTable seq_table(const PagedKvCache& kv, int b) {
  const int32_t begin = kv.block_indptr[b];
  return {kv.block_indices + begin, kv.block_indptr[b + 1] - begin, kv.kv_len[b]};
}

// kv_len must be >= 1 and covered by the sequence's blocks.
__device__ __forceinline__ bool seq_table_ok(const SeqTable& s, int block_size) {
  return s.len >= 1 && s.n_blocks >= 0 &&
         static_cast<int64_t>(s.len) <= static_cast<int64_t>(s.n_blocks) * block_size;
}

// Element offset of (position, kv head, dim 0) in k/v, or -1 when the block
// id is outside the pool (the caller then skips the read and poisons output).
__device__ __forceinline__ int64_t token_offset(const PagedKvCache& kv, const SeqTable& s, int pos,
                                                int kv_head) {
  const int32_t block = s.blocks[pos / kv.block_size];
  if (block < 0 || block >= kv.num_blocks) return -1;
  const int64_t row = static_cast<int64_t>(block) * kv.block_size + pos % kv.block_size;
  return (row * kv.n_kv_heads + kv_head) * kv.head_dim;
}

// 16 bytes = 8 halves -> 8 floats.
__device__ __forceinline__ void unpack8(const uint4& raw, float f[8]) {
  const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __half2float(__ushort_as_half(static_cast<unsigned short>(w[i] & 0xffffu)));
    f[2 * i + 1] = __half2float(__ushort_as_half(static_cast<unsigned short>(w[i] >> 16)));
  }
}

// 8 bytes = 8 int8 quants -> 8 floats (exact).
__device__ __forceinline__ void unpack8_int8(const uint2& raw, float f[8]) {
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[i] = static_cast<float>(static_cast<int8_t>((raw.x >> (8 * i)) & 0xffu));
    f[4 + i] = static_cast<float>(static_cast<int8_t>((raw.y >> (8 * i)) & 0xffu));
  }
}

// Index into k_scale/v_scale of the element offset `off` from token_offset.
template <int kHeadDim>
__device__ __forceinline__ int64_t scale_index(int64_t off) {
  return off / kHeadDim;
}

__device__ __forceinline__ float neg_inf() {
  return __int_as_float(0xff800000);
}
__device__ __forceinline__ float quiet_nan() {
  return __int_as_float(0x7fc00000);
}

// exp2(m_old - m_new), treating an empty state (both -inf) as factor 0.
__device__ __forceinline__ float rescale_factor(float m_old, float m_new) {
  return m_new == neg_inf() ? 0.0f : exp2f(m_old - m_new);
}

}  // namespace loom::cuda::paged_kv
