// Attention for one layer: the decode group (one query token per sequence,
// rows [0, n_decode)) through the split-K decode kernel, the prefill group
// (rows after it) through the tensor-core prefill kernel. Both read the
// step's padded block tables as CSR with indptr[s] = s * max_blocks_per_seq,
// over the fp16 or the int8 cache (dequantized on the fly by both kernels).
// head_dim 256 (Gemma 3): the prefill group runs through the decode kernel,
// one launch row per query token. A sliding window bounds both; with a
// window pool its layers read that pool through the window block tables.
#include "backends/cuda/cuda_forward.h"
#include "kernels/cuda/attention/decode_attention.cuh"
#include "kernels/cuda/attention/prefill_attention.cuh"

namespace loom::cuda_backend {

void CudaForward::attend(int32_t l, const StepShape& s, float scale, int32_t window) {
  const StepCapacity& cap = meta_.capacity();
  const KvLayerPools pools = kv_pools(l);
  cuda::PagedKvCache kv;
  kv.dtype = lim_.kv_int8 ? cuda::KvCacheDtype::kInt8 : cuda::KvCacheDtype::kF16;
  kv.k = pools.k;
  kv.v = pools.v;
  kv.k_q = pools.k_q;
  kv.v_q = pools.v_q;
  kv.k_scale = pools.k_scale;
  kv.v_scale = pools.v_scale;
  kv.num_blocks = layer_blocks(l);
  kv.block_size = lim_.block_size;
  kv.n_kv_heads = c_.n_kv_heads;
  kv.head_dim = c_.head_dim;
  kv.block_indptr = meta_.indptr();
  if (s.n_decode > 0) {
    kv.batch = s.n_decode;
    kv.block_indices = block_tables(l);
    kv.kv_len = meta_.kv_len();
    cuda::DecodeAttentionArgs a;
    a.q = q_;
    a.out = attn_;
    a.n_heads = c_.n_heads;
    a.scale = scale;
    // Always the full context, so eager steps and graph replays (whose grid
    // is fixed at capture) split every sequence identically.
    a.max_kv_len = lim_.context;
    a.split_len = lim_.split_len;
    a.workspace = decode_ws_;
    a.window = window;
    check_cuda(cuda::launch_decode_attention(kv, a, stream_), "launch_decode_attention");
  }
  if (s.n_prefill_seqs > 0 && c_.head_dim > 128) {
    // No tensor-core prefill tile at this head_dim: every prefill token is a
    // row of the decode kernel (its slot's table, keys up to its position),
    // unsplit, so no split workspace is needed for max_tokens rows.
    const size_t row0 = static_cast<size_t>(s.n_decode) * c_.q_dim();
    kv.batch = s.n_tokens - s.n_decode;
    kv.block_indices = block_tables(l);
    kv.kv_len = meta_.kv_len();
    cuda::DecodeAttentionArgs a;
    a.q = q_ + row0;
    a.out = attn_ + row0;
    a.n_heads = c_.n_heads;
    a.scale = scale;
    a.max_kv_len = lim_.context;
    a.split_len = 0;
    a.window = window;
    a.row_seq = meta_.seq_of_token() + s.n_decode;
    a.row_pos = meta_.positions() + s.n_decode;
    a.n_table_seqs = s.n_decode + s.n_prefill_seqs;
    check_cuda(cuda::launch_decode_attention(kv, a, stream_), "launch_decode_attention (prefill rows)");
  } else if (s.n_prefill_seqs > 0) {
    const size_t row0 = static_cast<size_t>(s.n_decode) * c_.q_dim();
    kv.batch = s.n_prefill_seqs;
    kv.block_indices = block_tables(l) + static_cast<size_t>(s.n_decode) * cap.max_blocks_per_seq;
    kv.kv_len = meta_.kv_len() + s.n_decode;
    cuda::PrefillAttentionArgs a;
    a.q = q_ + row0;
    a.out = attn_ + row0;
    a.q_indptr = meta_.q_indptr();
    a.max_q_len = s.prefill_max_q;
    a.n_heads = c_.n_heads;
    a.scale = scale;
    a.window = window;
    check_cuda(cuda::launch_prefill_attention(kv, a, stream_), "launch_prefill_attention");
  }
}

}  // namespace loom::cuda_backend
