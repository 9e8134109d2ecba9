// Prefill attention over the paged KV cache: causal mask, online softmax,
// tensor cores (mma.m16n8k16 through common/mma.cuh). Covers chunked prefill:
// a sequence's n_q query rows are its last n_q cached positions, so row i sits
// at position pos0 + i with pos0 = kv_len - n_q and attends to [0, pos0 + i]
// (to [pos0 + i - window + 1, pos0 + i] under a sliding window; K/V tiles
// wholly before the tile's first row's window are not read).
//
// Tiling: a thread block (4 warps) takes 64 "rows" of one sequence and one KV
// head, where a row is a (token, head of the GQA group) pair, row r = token
// (r / group), head kv_head * group + r % group; so the group shares each K/V
// tile. Each warp owns 16 rows; K/V tiles of 32 keys stream through shared
// memory (K via cp.async, V transposed on the way in for the PV mma).
#pragma once

#include <cstdint>

#include "kernels/cuda/attention/paged_kv.cuh"

namespace loom::cuda {

struct PrefillAttentionArgs {
  // [q_indptr[kv.batch]][n_heads][head_dim] fp16; sequence b's rows are
  // q_indptr[b] .. q_indptr[b + 1].
  const __half* q = nullptr;
  __half* out = nullptr;              // same shape as q, fp16
  const int32_t* q_indptr = nullptr;  // [kv.batch + 1] device; 1 <= n_q_b <= kv.kv_len[b]
  int32_t max_q_len = 0;              // >= every n_q_b (host-known); sizes the grid
  int32_t n_heads = 0;                // multiple of kv.n_kv_heads
  float scale = 0.0f;                 // softmax scale, usually 1/sqrt(head_dim)
  int32_t window = 0;                 // > 0: row at position p sees keys [p - window + 1, p] only
};

// head_dim 64 or 128 (256 goes through launch_decode_attention's row mapping).
// cudaErrorInvalidValue on bad shapes/pointers (see check_paged_kv_shape).
// Sequences whose q_indptr/kv_len/table disagree get NaN outputs.
cudaError_t launch_prefill_attention(const PagedKvCache& kv, const PrefillAttentionArgs& a,
                                     cudaStream_t stream);

}  // namespace loom::cuda
