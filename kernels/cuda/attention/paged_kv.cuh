// The paged KV cache as the attention kernels see it: one layer's K and V
// pools plus the batch's block tables, in one plain struct passed by value to
// the kernels (the role of flashinfer's paged_kv_t).
//
// Cache layout (the same as the CPU cache, kernels/cpu/attention.h and
// attention_int8.h; formats in kv_cache_format.cuh):
//   fp16: k, v     [num_blocks][block_size][n_kv_heads][head_dim] fp16
//   int8: k_q, v_q [num_blocks][block_size][n_kv_heads][head_dim] int8
//         k_scale, v_scale [num_blocks][block_size][n_kv_heads] fp32
// so one token's K for one KV head is head_dim contiguous elements (128, 256
// or 512 bytes fp16, 64, 128 or 256 bytes int8), loaded in 16- (fp16) or 8-byte
// (int8) pieces of 8 elements.
//
// Block tables are CSR: sequence b owns the logical blocks
//   block_indices[block_indptr[b] .. block_indptr[b + 1])
// in order; logical block j holds positions [j * block_size, (j+1) * block_size).
// Its cached length kv_len[b] counts every token already written, including
// the ones being attended for (the fused RoPE/KV-write op runs first).
//
// Device-side trust: the kernels never read outside the pools. A sequence whose
// table is inconsistent (kv_len < 1, kv_len beyond its blocks, a block id
// outside [0, num_blocks)) gets NaN outputs instead of a crash; callers that
// want a precise message call validate_paged_kv_tables on the host copies.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cuda/attention/kv_cache_format.cuh"
#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

struct PagedKvCache {
  KvCacheDtype dtype = KvCacheDtype::kF16;  // which pools below are used
  const __half* k = nullptr;  // kF16: [num_blocks][block_size][n_kv_heads][head_dim] fp16, 16-B aligned
  const __half* v = nullptr;  // kF16: [num_blocks][block_size][n_kv_heads][head_dim] fp16, 16-B aligned
  const int8_t* k_q = nullptr;      // kInt8: [num_blocks][block_size][n_kv_heads][head_dim], 16-B aligned
  const int8_t* v_q = nullptr;      // kInt8: same shape as k_q
  const float* k_scale = nullptr;   // kInt8: [num_blocks][block_size][n_kv_heads] fp32
  const float* v_scale = nullptr;   // kInt8: same shape as k_scale
  int32_t num_blocks = 0;     // physical blocks in each pool
  int32_t block_size = 0;     // tokens per block, any value >= 1 (16 and 32 are tested)
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;  // 64, 128 or 256 (256: decode kernel only)

  int32_t batch = 0;                       // sequences in this launch
  const int32_t* block_indptr = nullptr;   // [batch + 1] device; CSR offsets into block_indices
  const int32_t* block_indices = nullptr;  // [block_indptr[batch]] device; physical block ids
  const int32_t* kv_len = nullptr;         // [batch] device; tokens cached per sequence, >= 1
};

// Host-side shape check of the scalar fields and pointers (no device reads):
// cudaErrorInvalidValue if anything is null or out of the supported range.
cudaError_t check_paged_kv_shape(const PagedKvCache& kv);

// Full check of host copies of the tables (indptr [batch + 1], indices
// [indptr[batch]], kv_len [batch]); returns "" when valid, else a message
// naming the field and sequence.
std::string validate_paged_kv_tables(const PagedKvCache& kv, const int32_t* host_indptr,
                                     const int32_t* host_indices, const int32_t* host_kv_len);

}  // namespace loom::cuda
