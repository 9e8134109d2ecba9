// Paged decode attention: one query token per sequence, many sequences per
// launch, GQA, head_dim 64, 128 or 256, Flash-Decoding split over the context,
// an optional sliding window (the query at position p sees keys
// [p - window + 1, p]; keys before it, and their blocks, are never read).
// With row_seq/row_pos the launch's rows are query tokens rather than
// sequences (row b: sequence row_seq[b]'s keys up to position row_pos[b]),
// which runs a prefill chunk one query row per thread-block group (the
// prefill path for head_dim 256, where the tensor-core tile does not fit).
//
// Grid of the main kernel: (max_splits, n_kv_heads, batch); each thread block
// handles one KV head's whole GQA group for one split of one sequence, so each
// K/V row is read from memory once. With max_splits > 1 every split writes an
// unnormalised partial (acc, max, sum) into the workspace and a second kernel
// combines them; with one split the main kernel writes `out` directly.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cuda/attention/paged_kv.cuh"

namespace loom::cuda {

constexpr int kDecodeMaxGroup = 8;  // largest n_heads / n_kv_heads supported

struct DecodeAttentionArgs {
  const __half* q = nullptr;  // [kv.batch][n_heads][head_dim] fp16 (row b = sequence b's token)
  __half* out = nullptr;      // [kv.batch][n_heads][head_dim] fp16
  int32_t n_heads = 0;        // multiple of kv.n_kv_heads, n_heads / n_kv_heads <= 8
  float scale = 0.0f;         // softmax scale, usually 1/sqrt(head_dim)
  int32_t max_kv_len = 0;     // >= every kv.kv_len[b] (host-known); sizes the split grid
  int32_t split_len = 0;      // tokens per split; 0 or >= max_kv_len: no split
  // Split partials, decode_attention_workspace_bytes() bytes, 16-B aligned;
  // may be null when there is a single split.
  void* workspace = nullptr;
  int32_t window = 0;  // > 0: keys [pos - window + 1, pos] only (pos = the query's position)
  // Optional row mapping (both or neither): kv.batch rows; row b attends
  // sequence row_seq[b] of the tables (kv.block_indptr has n_table_seqs + 1
  // entries) over positions [.., row_pos[b]], i.e. kv_len row_pos[b] + 1
  // (kv.kv_len is then not read). Without it row b is sequence b, position
  // kv.kv_len[b] - 1.
  const int32_t* row_seq = nullptr;  // [kv.batch] device
  const int32_t* row_pos = nullptr;  // [kv.batch] device
  int32_t n_table_seqs = 0;
};

// Number of splits the launch uses: ceil(max_kv_len / split_len), or 1.
int32_t decode_attention_splits(int32_t max_kv_len, int32_t split_len);

// Bytes of workspace: [batch][n_heads][splits][head_dim] float acc followed by
// [batch][n_heads][splits] float2 (max, sum). 0 when there is a single split.
size_t decode_attention_workspace_bytes(int32_t batch, int32_t n_heads, int32_t head_dim,
                                        int32_t max_kv_len, int32_t split_len);

// A split length giving ~2 thread blocks per SM (at least 256 tokens per
// split, so short contexts are not split at all).
int32_t decode_attention_default_split_len(int32_t batch, int32_t n_kv_heads, int32_t max_kv_len,
                                           int32_t num_sms);

// cudaErrorInvalidValue on bad shapes/pointers (see check_paged_kv_shape).
cudaError_t launch_decode_attention(const PagedKvCache& kv, const DecodeAttentionArgs& a,
                                    cudaStream_t stream);

}  // namespace loom::cuda
