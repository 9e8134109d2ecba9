#include "kernels/cuda/attention/decode_attention.cuh"

#include "kernels/cuda/attention/paged_kv_device.cuh"

namespace loom::cuda {
namespace {

using namespace paged_kv;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kG = kDecodeMaxGroup;
constexpr float kLog2e = 1.4426950408889634f;

// Online-softmax state of one thread for its 8 dims of every head of the group.
struct GroupState {
  float m[kG], l[kG], acc[kG][8];
};

// Merges state `o` (another row group's or warp's) into `s` for head h.
__device__ __forceinline__ void merge_head(GroupState& s, int h, float m_o, float l_o,
                                           const float acc_o[8]) {
  const float m_new = fmaxf(s.m[h], m_o);
  const float c_s = rescale_factor(s.m[h], m_new), c_o = rescale_factor(m_o, m_new);
  s.m[h] = m_new;
  s.l[h] = s.l[h] * c_s + l_o * c_o;
#pragma unroll
  for (int i = 0; i < 8; ++i) s.acc[h][i] = s.acc[h][i] * c_s + acc_o[i] * c_o;
}

// This lane's 8 dims of one token's K and V as floats, plus their scales
// (int8: the quants and the per-token fp32 scales; fp16: the values, scale 1).
template <int kHeadDim, bool kInt8>
__device__ __forceinline__ void load_kv8(const PagedKvCache& kv, int64_t off, int dim0, float kf[8],
                                         float vf[8], float& k_sc, float& v_sc) {
  if constexpr (kInt8) {
    unpack8_int8(*reinterpret_cast<const uint2*>(kv.k_q + off + dim0), kf);
    unpack8_int8(*reinterpret_cast<const uint2*>(kv.v_q + off + dim0), vf);
    const int64_t si = scale_index<kHeadDim>(off);
    k_sc = kv.k_scale[si];
    v_sc = kv.v_scale[si];
  } else {
    unpack8(*reinterpret_cast<const uint4*>(kv.k + off + dim0), kf);
    unpack8(*reinterpret_cast<const uint4*>(kv.v + off + dim0), vf);
  }
}

// Thread layout: a K/V row (head_dim halves) is read by kLanesPerRow lanes,
// 16 bytes each; a warp holds 32 / kLanesPerRow such "row groups", the block
// kRowGroups, which stride over the split's tokens. Each thread keeps the
// online-softmax state for its 8 dims of all `group` heads. kInt8: the row is
// head_dim int8 quants (8 bytes per lane) and the scores/weights take the
// token's fp32 scales: s = scale_k * sum(q * kq), acc += (p * scale_v) * vq.
// Which keys one launch row attends: its sequence's table, the keys
// [lo, table.len) (lo > 0 under a sliding window), and whether the row's
// mapping is consistent (a bad one poisons the row's output).
struct RowKeys {
  SeqTable seq;
  int lo;
  bool ok;
};

// Row b of the launch: sequence b (position kv_len[b] - 1) or, with a row
// mapping, sequence row_seq[b] up to position row_pos[b].
struct RowMapping {
  const int32_t* row_seq;
  const int32_t* row_pos;
  int n_table_seqs;
  int window;
};

__device__ __forceinline__ RowKeys row_keys(const PagedKvCache& kv, const RowMapping& rm, int b) {
  RowKeys r;
  bool ok = true;
  if (rm.row_seq) {
    const int s = rm.row_seq[b];
    ok = s >= 0 && s < rm.n_table_seqs;
    const int32_t begin = ok ? kv.block_indptr[s] : 0;
    r.seq = {kv.block_indices + begin, ok ? kv.block_indptr[s + 1] - begin : 0, ok ? rm.row_pos[b] + 1 : 0};
  } else {
    r.seq = seq_table(kv, b);
  }
  r.ok = ok && seq_table_ok(r.seq, kv.block_size);
  const int pos = r.seq.len - 1;
  r.lo = r.ok && rm.window > 0 && pos >= rm.window ? pos - rm.window + 1 : 0;
  return r;
}

template <int kHeadDim, bool kInt8>
__global__ void decode_split_kernel(PagedKvCache kv, RowMapping rm, const __half* __restrict__ q,
                                    int n_heads, float scale_log2, int split_len, int n_splits,
                                    __half* __restrict__ out, float* __restrict__ part_acc,
                                    float2* __restrict__ part_ml) {
  constexpr int kLanesPerRow = kHeadDim / 8;
  constexpr int kRowsPerWarp = 32 / kLanesPerRow;
  constexpr int kRowGroups = kRowsPerWarp * kWarps;
  LOOM_SHARED(float, sm_acc, [kWarps][kG][kHeadDim]);
  LOOM_SHARED(float, sm_ml, [kWarps][kG][2]);
  LOOM_SHARED(int, sm_bad, [1]);

  const int split = blockIdx.x, kv_head = blockIdx.y, b = blockIdx.z;
  const int group = n_heads / kv.n_kv_heads;
  const RowKeys rk = row_keys(kv, rm, b);
  const SeqTable& seq = rk.seq;
  const int split_begin = split * split_len;
  const bool table_ok = rk.ok && static_cast<int64_t>(seq.len) <= static_cast<int64_t>(split_len) * n_splits;
  // Nothing to do (past the end, or wholly before the window); the reduction skips this split.
  if (table_ok && (split_begin >= seq.len || split_begin + split_len <= rk.lo)) return;
  const int begin = max(split_begin, rk.lo);
  const int end = table_ok ? min(seq.len, split_begin + split_len) : begin;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int dim0 = (lane % kLanesPerRow) * 8;
  if (threadIdx.x == 0) sm_bad[0] = table_ok ? 0 : 1;
  __syncthreads();  // the flag is set before any thread may raise it below

  // q for this thread's dims, pre-scaled so scores are in log2 units.
  float qr[kG][8];
  GroupState st;
#pragma unroll
  for (int h = 0; h < kG; ++h) {
    st.m[h] = neg_inf();
    st.l[h] = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; ++i) st.acc[h][i] = 0.0f, qr[h][i] = 0.0f;
    if (h < group) {
      const __half* qh = q + (static_cast<int64_t>(b) * n_heads + kv_head * group + h) * kHeadDim;
      unpack8(*reinterpret_cast<const uint4*>(qh + dim0), qr[h]);
#pragma unroll
      for (int i = 0; i < 8; ++i) qr[h][i] *= scale_log2;
    }
  }

  // The trip count is uniform per warp (t0 is the warp's first token), so the
  // full-warp shuffles below are reached by every lane; a lane past `end`
  // (or on a bad block) shuffles along and skips the update.
  bool bad_block = false;
  for (int t0 = begin + warp * kRowsPerWarp; t0 < end; t0 += kRowGroups) {
    const int t = t0 + lane / kLanesPerRow;
    const int64_t off = t < end ? token_offset(kv, seq, t, kv_head) : -1;
    bad_block |= t < end && off < 0;
    float kf[8] = {}, vf[8] = {}, k_sc = 1.0f, v_sc = 1.0f;
    if (off >= 0) load_kv8<kHeadDim, kInt8>(kv, off, dim0, kf, vf, k_sc, v_sc);
#pragma unroll
    for (int h = 0; h < kG; ++h) {
      if (h >= group) break;
      float s = 0.0f;
#pragma unroll
      for (int i = 0; i < 8; ++i) s += qr[h][i] * kf[i];
        // Sum over the row group's lanes (xor offsets stay inside it).
#pragma unroll
      for (int o = kLanesPerRow / 2; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (off < 0) continue;
      if constexpr (kInt8) s *= k_sc;
      if (s > st.m[h]) {  // new running max: rescale what was accumulated
        const float c = rescale_factor(st.m[h], s);
        st.l[h] *= c;
#pragma unroll
        for (int i = 0; i < 8; ++i) st.acc[h][i] *= c;
        st.m[h] = s;
      }
      const float p = exp2f(s - st.m[h]);
      st.l[h] += p;
      const float pv = kInt8 ? p * v_sc : p;
#pragma unroll
      for (int i = 0; i < 8; ++i) st.acc[h][i] += pv * vf[i];
    }
  }
  if (bad_block) sm_bad[0] = 1;

    // Merge the warp's row groups (lanes with the same dims), then the warps.
#pragma unroll
  for (int o = kLanesPerRow; o < 32; o *= 2) {
#pragma unroll
    for (int h = 0; h < kG; ++h) {
      if (h >= group) break;
      float acc_o[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) acc_o[i] = __shfl_xor_sync(0xffffffffu, st.acc[h][i], o);
      const float m_o = __shfl_xor_sync(0xffffffffu, st.m[h], o);
      const float l_o = __shfl_xor_sync(0xffffffffu, st.l[h], o);
      merge_head(st, h, m_o, l_o, acc_o);
    }
  }
  if (lane < kLanesPerRow) {
#pragma unroll
    for (int h = 0; h < kG; ++h) {
      if (h >= group) break;
#pragma unroll
      for (int i = 0; i < 8; ++i) sm_acc[warp][h][dim0 + i] = st.acc[h][i];
      if (lane == 0) sm_ml[warp][h][0] = st.m[h], sm_ml[warp][h][1] = st.l[h];
    }
  }
  __syncthreads();

  const bool bad = sm_bad[0] != 0;
  for (int idx = threadIdx.x; idx < group * kHeadDim; idx += kThreads) {
    const int h = idx / kHeadDim, d = idx % kHeadDim;
    float m = neg_inf();
    for (int w = 0; w < kWarps; ++w) m = fmaxf(m, sm_ml[w][h][0]);
    float l = 0.0f, acc = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float c = rescale_factor(sm_ml[w][h][0], m);
      l += sm_ml[w][h][1] * c;
      acc += sm_acc[w][h][d] * c;
    }
    const int64_t head = static_cast<int64_t>(b) * n_heads + kv_head * group + h;
    if (n_splits == 1) {
      out[head * kHeadDim + d] = __float2half_rn(bad ? quiet_nan() : acc / l);
    } else {
      part_acc[(head * n_splits + split) * kHeadDim + d] = acc;
      if (d == 0)
        part_ml[head * n_splits + split] =
            bad ? make_float2(quiet_nan(), quiet_nan()) : make_float2(m, l);
    }
  }
}

// Combines the splits of one (sequence, head): grid (n_heads, batch), one
// thread per dim.
__global__ void decode_reduce_kernel(PagedKvCache kv, RowMapping rm, int n_heads, int split_len,
                                     int n_splits, const float* __restrict__ part_acc,
                                     const float2* __restrict__ part_ml, __half* __restrict__ out) {
  const int head_dim = kv.head_dim, d = threadIdx.x;
  const int b = blockIdx.y;
  const int64_t head = static_cast<int64_t>(b) * n_heads + blockIdx.x;
  const RowKeys rk = row_keys(kv, rm, b);
  bool bad = !rk.ok || static_cast<int64_t>(rk.seq.len) > static_cast<int64_t>(split_len) * n_splits;
  const int used = bad ? 0 : (rk.seq.len + split_len - 1) / split_len;
  const int first = bad ? 0 : rk.lo / split_len;  // splits before the window wrote nothing
  float m = neg_inf();
  for (int s = first; s < used; ++s) {
    const float2 ml = part_ml[head * n_splits + s];
    bad |= ml.x != ml.x;  // NaN: the split saw a bad block id
    m = fmaxf(m, ml.x);
  }
  float l = 0.0f, acc = 0.0f;
  for (int s = first; s < used; ++s) {
    const float c = rescale_factor(part_ml[head * n_splits + s].x, m);
    l += part_ml[head * n_splits + s].y * c;
    acc += part_acc[(head * n_splits + s) * head_dim + d] * c;
  }
  out[head * head_dim + d] = __float2half_rn(bad ? quiet_nan() : acc / l);
}

}  // namespace

int32_t decode_attention_splits(int32_t max_kv_len, int32_t split_len) {
  if (split_len <= 0 || max_kv_len <= split_len) return 1;
  return (max_kv_len + split_len - 1) / split_len;
}

size_t decode_attention_workspace_bytes(int32_t batch, int32_t n_heads, int32_t head_dim,
                                        int32_t max_kv_len, int32_t split_len) {
  const int32_t splits = decode_attention_splits(max_kv_len, split_len);
  if (splits == 1) return 0;
  const size_t rows = static_cast<size_t>(batch) * n_heads * splits;
  return rows * head_dim * sizeof(float) + rows * sizeof(float2);
}

int32_t decode_attention_default_split_len(int32_t batch, int32_t n_kv_heads, int32_t max_kv_len,
                                           int32_t num_sms) {
  constexpr int32_t kMinSplit = 256;
  const int64_t blocks = static_cast<int64_t>(batch) * n_kv_heads;
  const int64_t want = (2LL * num_sms + blocks - 1) / blocks;
  const int64_t most = (max_kv_len + kMinSplit - 1) / kMinSplit;
  const int64_t splits = want < most ? want : most;
  if (splits <= 1) return 0;
  const int64_t len = (max_kv_len + splits - 1) / splits;
  return static_cast<int32_t>((len + 31) / 32 * 32);
}

cudaError_t launch_decode_attention(const PagedKvCache& kv, const DecodeAttentionArgs& a,
                                    cudaStream_t stream) {
  if (check_paged_kv_shape(kv) != cudaSuccess || !a.q || !a.out || a.max_kv_len <= 0 ||
      a.split_len < 0 || a.n_heads <= 0 || a.n_heads % kv.n_kv_heads != 0 ||
      a.n_heads / kv.n_kv_heads > kDecodeMaxGroup || !(a.scale > 0.0f) || a.window < 0 ||
      (a.row_seq == nullptr) != (a.row_pos == nullptr) || (a.row_seq && a.n_table_seqs <= 0))
    return cudaErrorInvalidValue;
  const int32_t splits = decode_attention_splits(a.max_kv_len, a.split_len);
  const int32_t split_len = splits == 1 ? a.max_kv_len : a.split_len;
  float* part_acc = static_cast<float*>(a.workspace);
  float2* part_ml = nullptr;
  if (splits > 1) {
    if (!a.workspace || reinterpret_cast<uintptr_t>(a.workspace) % 16 != 0)
      return cudaErrorInvalidValue;
    part_ml = reinterpret_cast<float2*>(part_acc + static_cast<size_t>(kv.batch) * a.n_heads *
                                                       splits * kv.head_dim);
  }
  const dim3 grid(splits, kv.n_kv_heads, kv.batch);
  const float scale_log2 = a.scale * kLog2e;
  const bool int8 = kv.dtype == KvCacheDtype::kInt8;
  auto kernel = kv.head_dim == 64    ? (int8 ? decode_split_kernel<64, true> : decode_split_kernel<64, false>)
                : kv.head_dim == 128 ? (int8 ? decode_split_kernel<128, true> : decode_split_kernel<128, false>)
                                     : (int8 ? decode_split_kernel<256, true> : decode_split_kernel<256, false>);
  const RowMapping rm{a.row_seq, a.row_pos, a.n_table_seqs, a.window};
  cudaError_t err = loom_launch(kernel, grid, dim3(kThreads), 0, stream, kv, rm, a.q, a.n_heads,
                                scale_log2, split_len, splits, a.out, part_acc, part_ml);
  if (err != cudaSuccess || splits == 1) return err;
  return loom_launch(decode_reduce_kernel, dim3(a.n_heads, kv.batch), dim3(kv.head_dim), 0, stream,
                     kv, rm, a.n_heads, split_len, splits, part_acc, part_ml, a.out);
}

}  // namespace loom::cuda
