#include "kernels/cuda/attention/prefill_attention.cuh"

#include "kernels/cuda/attention/paged_kv_device.cuh"
#include "kernels/cuda/common/mma.cuh"

namespace loom::cuda {
namespace {

using namespace paged_kv;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = kWarps * 16;  // (token, head) rows per thread block
constexpr int kKeys = 32;           // keys per K/V tile
constexpr int kPad = 8;             // halves of padding per shared row (ldmatrix bank spread)
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ uint32_t pack_half2(float lo, float hi) {
  return static_cast<uint32_t>(__half_as_ushort(__float2half_rn(lo))) |
         (static_cast<uint32_t>(__half_as_ushort(__float2half_rn(hi))) << 16);
}

// Half j (0..7) of a 16-byte chunk, j known only at run time (no local array).
__device__ __forceinline__ __half half_of(const uint4& raw, int j) {
  const uint32_t w = (j >> 1) == 0 ? raw.x : (j >> 1) == 1 ? raw.y : (j >> 1) == 2 ? raw.z : raw.w;
  return __ushort_as_half(static_cast<unsigned short>((j & 1) ? (w >> 16) : (w & 0xffffu)));
}

// Quant j (0..7) of an 8-byte int8 chunk as a float, j known only at run time.
__device__ __forceinline__ float quant_of(const uint2& raw, int j) {
  const uint32_t w = j < 4 ? raw.x : raw.y;
  return static_cast<float>(static_cast<int8_t>((w >> (8 * (j & 3))) & 0xffu));
}

// One (token, head) row of the tile: where its q/out row is and its position.
struct RowMap {
  int q_begin, n_rows, group, n_heads, kv_head, pos0;
  __device__ int64_t q_row(int row) const {  // row index into q/out as [rows][head_dim]
    return static_cast<int64_t>(q_begin + row / group) * n_heads + kv_head * group + row % group;
  }
  __device__ int pos(int row) const { return pos0 + min(row, n_rows - 1) / group; }
};

// int8 cache: K lands as its integer quants in fp16 (exact: |q| <= 127) and
// its per-key scale in ksc_s[key], applied to S in fp32 after the mma, so
// Q.K loses nothing to the format change. V is dequantized on the way in,
// q * scale rounded once to fp16 (relative error <= 2^-11, the rounding an
// fp16 cache applies when it stores V), because P.V runs on fp16 mma inputs.
template <int kHeadDim, class KS, class VTS, class SC>
__device__ __forceinline__ void load_kv_tile_int8(const PagedKvCache& kv, const SeqTable& seq,
                                                  int kv_head, int k0, int kv_lo, int kv_end, KS& k_s,
                                                  VTS& vt_s, SC& ksc_s, int& bad) {
  constexpr int kChunks = kHeadDim / 8;  // 8 quants (8 bytes) per chunk
  for (int i = threadIdx.x; i < kKeys * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks, key = k0 + r;
    const bool live = key >= kv_lo && key < kv_end;
    const int64_t off = live ? token_offset(kv, seq, key, kv_head) : -1;
    if (live && off < 0) bad = 1;
    uint2 kq = make_uint2(0, 0), vq = make_uint2(0, 0);  // keys past the end: zeros
    float v_sc = 0.0f, k_sc = 0.0f;
    if (off >= 0) {
      kq = *reinterpret_cast<const uint2*>(kv.k_q + off + c * 8);
      vq = *reinterpret_cast<const uint2*>(kv.v_q + off + c * 8);
      const int64_t si = scale_index<kHeadDim>(off);
      v_sc = kv.v_scale[si];
      if (c == 0) k_sc = kv.k_scale[si];
    }
    if (c == 0) ksc_s[r] = k_sc;
    *reinterpret_cast<uint4*>(&k_s[r][c * 8]) =
        make_uint4(pack_half2(quant_of(kq, 0), quant_of(kq, 1)), pack_half2(quant_of(kq, 2), quant_of(kq, 3)),
                   pack_half2(quant_of(kq, 4), quant_of(kq, 5)), pack_half2(quant_of(kq, 6), quant_of(kq, 7)));
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int jj = (j + c) & 7;  // rotated as in load_kv_tile
      vt_s[c * 8 + jj][r] = __float2half_rn(quant_of(vq, jj) * v_sc);
    }
  }
}

template <int kHeadDim, class KS, class VTS>
__device__ __forceinline__ void load_kv_tile(const PagedKvCache& kv, const SeqTable& seq,
                                             int kv_head, int k0, int kv_lo, int kv_end, KS& k_s,
                                             VTS& vt_s, int& bad) {
  constexpr int kChunks = kHeadDim / 8;
  for (int i = threadIdx.x; i < kKeys * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks, key = k0 + r;
    // Keys before kv_lo (outside every row's window; their blocks may be
    // gone) and past the end are zeros (masked, and 0 * 0 = 0).
    const bool live = key >= kv_lo && key < kv_end;
    const int64_t off = live ? token_offset(kv, seq, key, kv_head) : -1;
    if (live && off < 0) bad = 1;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (off >= 0) {
      cp_async_16(&k_s[r][c * 8], kv.k + off + c * 8);
      v = *reinterpret_cast<const uint4*>(kv.v + off + c * 8);
    } else {
      *reinterpret_cast<uint4*>(&k_s[r][c * 8]) = v;
    }
    // V transposed (vt_s[dim][key]); the rotation by c spreads one store
    // instruction's 16 lanes over banks instead of one.
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int jj = (j + c) & 7;
      vt_s[c * 8 + jj][r] = half_of(v, jj);
    }
  }
}

template <int kHeadDim, bool kInt8>
__global__ void prefill_kernel(PagedKvCache kv, const __half* __restrict__ q,
                               const int32_t* __restrict__ q_indptr, int n_heads, float scale_log2,
                               int window, __half* __restrict__ out) {
  constexpr int kChunks = kHeadDim / 8;    // 16-byte pieces per row
  constexpr int kKSteps = kHeadDim / 16;   // mma k-steps over head_dim for S = Q K^T
  constexpr int kDimTiles = kHeadDim / 8;  // mma n-tiles of O
  LOOM_SHARED(__half, q_s, [kRows][kHeadDim + kPad]);
  LOOM_SHARED(__half, k_s, [kKeys][kHeadDim + kPad]);
  LOOM_SHARED(__half, vt_s, [kHeadDim][kKeys + kPad]);
  LOOM_SHARED(float, ksc_s, [kKeys]);  // int8: the tile's K scales
  LOOM_SHARED(int, sm_bad, [1]);

  const int kv_head = blockIdx.y, b = blockIdx.z, r0 = blockIdx.x * kRows;
  const int group = n_heads / kv.n_kv_heads;
  const int q_begin = q_indptr[b], n_q = q_indptr[b + 1] - q_begin;
  if (n_q <= 0 || r0 >= n_q * group) return;  // uniform: tile past this sequence's rows
  const SeqTable seq = seq_table(kv, b);
  const bool ok = seq_table_ok(seq, kv.block_size) && n_q <= seq.len;
  const RowMap map{q_begin, n_q * group, group, n_heads, kv_head, seq.len - n_q};
  // Keys up to the position of the tile's last row; none when the table is bad.
  const int kv_end = ok ? map.pos(r0 + kRows - 1) + 1 : 0;

  if (threadIdx.x == 0) sm_bad[0] = ok ? 0 : 1;
  for (int i = threadIdx.x; i < kRows * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    if (r0 + r < map.n_rows) {
      cp_async_16(&q_s[r][c * 8], q + map.q_row(r0 + r) * kHeadDim + c * 8);
    } else {
      *reinterpret_cast<uint4*>(&q_s[r][c * 8]) = make_uint4(0, 0, 0, 0);
    }
  }
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane >> 2, t = lane & 3;    // mma fragment coordinates
  const int li = lane & 7, lj = lane >> 3;  // ldmatrix: lane 8j+i addresses row i of matrix j
  uint32_t qf[kKSteps][4];
#pragma unroll
  for (int ks = 0; ks < kKSteps; ++ks)
    ldmatrix_x4(qf[ks], &q_s[warp * 16 + li + 8 * (lj & 1)][ks * 16 + 8 * (lj >> 1)]);
  // This thread's two rows: g and g + 8 of the warp's 16.
  const int row_pos[2] = {map.pos(r0 + warp * 16 + g), map.pos(r0 + warp * 16 + g + 8)};
  // First visible key of a row at position p (0 without a window).
  auto window_lo = [window](int p) { return window > 0 && p >= window ? p - window + 1 : 0; };
  const int row_lo[2] = {window_lo(row_pos[0]), window_lo(row_pos[1])};
  // The tile's first row has the smallest position: start at its window's tile.
  const int kv_lo = ok ? window_lo(map.pos(r0)) : 0;
  const int k_begin = kv_lo / kKeys * kKeys;

  float o[kDimTiles][4];
#pragma unroll
  for (int dt = 0; dt < kDimTiles; ++dt) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.0f;
  float m[2] = {neg_inf(), neg_inf()}, l[2] = {0.0f, 0.0f};

  int bad = 0;
  for (int k0 = k_begin; k0 < kv_end; k0 += kKeys) {
    __syncthreads();  // every warp is done with the previous tile
    if constexpr (kInt8) {
      load_kv_tile_int8<kHeadDim>(kv, seq, kv_head, k0, kv_lo, kv_end, k_s, vt_s, ksc_s, bad);
    } else {
      load_kv_tile<kHeadDim>(kv, seq, kv_head, k0, kv_lo, kv_end, k_s, vt_s, bad);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    // S = Q K^T for 16 rows x 32 keys: n-tile n covers keys k0 + 8n .. +7.
    float s[4][4] = {};
#pragma unroll
    for (int ks = 0; ks < kKSteps; ++ks) {
#pragma unroll
      for (int np = 0; np < 2; ++np) {
        uint32_t kf[4];  // b fragments of n-tiles 2np (kf[0..1]) and 2np+1 (kf[2..3])
        ldmatrix_x4(kf, &k_s[np * 16 + li + 8 * (lj >> 1)][ks * 16 + 8 * (lj & 1)]);
        mma_m16n8k16_f16f32(s[2 * np], qf[ks], kf, s[2 * np]);
        mma_m16n8k16_f16f32(s[2 * np + 1], qf[ks], kf + 2, s[2 * np + 1]);
      }
    }

    // Causal mask and online softmax; element e of an n-tile is row g + 8(e/2).
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      float mx = neg_inf();
#pragma unroll
      for (int n = 0; n < 4; ++n)
#pragma unroll
        for (int e = 2 * hr; e < 2 * hr + 2; ++e) {
          const int key = k0 + n * 8 + 2 * t + (e & 1);
          const float x = kInt8 ? s[n][e] * ksc_s[key - k0] : s[n][e];
          s[n][e] = key > row_pos[hr] || key < row_lo[hr] ? neg_inf() : x * scale_log2;
          mx = fmaxf(mx, s[n][e]);
        }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      // Without a window key 0 is visible to every row, so m is finite from
      // the first tile on; with one a row may see nothing in early tiles
      // (m_new = -inf: p = 0, not exp2(-inf - -inf)).
      const float m_new = fmaxf(m[hr], mx);
      const float c = rescale_factor(m[hr], m_new);
      m[hr] = m_new;
      l[hr] *= c;
#pragma unroll
      for (int dt = 0; dt < kDimTiles; ++dt) o[dt][2 * hr] *= c, o[dt][2 * hr + 1] *= c;
#pragma unroll
      for (int n = 0; n < 4; ++n)
#pragma unroll
        for (int e = 2 * hr; e < 2 * hr + 2; ++e) {
          s[n][e] = m_new == neg_inf() ? 0.0f : exp2f(s[n][e] - m_new);
          l[hr] += s[n][e];
        }
    }

    // O += P V: P's accumulator layout is the A fragment layout of k-step kk
    // (keys 16kk .. 16kk+15) when n-tiles 2kk and 2kk+1 are paired.
#pragma unroll
    for (int kk = 0; kk < 2; ++kk) {
      const uint32_t pf[4] = {pack_half2(s[2 * kk][0], s[2 * kk][1]),
                              pack_half2(s[2 * kk][2], s[2 * kk][3]),
                              pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                              pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
      for (int dp = 0; dp < kDimTiles / 2; ++dp) {
        uint32_t vf[4];  // b fragments of dim n-tiles 2dp and 2dp+1
        ldmatrix_x4(vf, &vt_s[dp * 16 + li + 8 * (lj >> 1)][kk * 16 + 8 * (lj & 1)]);
        mma_m16n8k16_f16f32(o[2 * dp], pf, vf, o[2 * dp]);
        mma_m16n8k16_f16f32(o[2 * dp + 1], pf, vf + 2, o[2 * dp + 1]);
      }
    }
  }
  if (bad) sm_bad[0] = 1;
  __syncthreads();
  const bool poisoned = sm_bad[0] != 0;

#pragma unroll
  for (int hr = 0; hr < 2; ++hr) {
    l[hr] += __shfl_xor_sync(0xffffffffu, l[hr], 1);
    l[hr] += __shfl_xor_sync(0xffffffffu, l[hr], 2);
    const int row = r0 + warp * 16 + g + 8 * hr;
    if (row >= map.n_rows) continue;
    const float inv = poisoned ? quiet_nan() : 1.0f / l[hr];
    __half* dst = out + map.q_row(row) * kHeadDim;
#pragma unroll
    for (int dt = 0; dt < kDimTiles; ++dt)
      *reinterpret_cast<__half2*>(dst + dt * 8 + 2 * t) =
          __floats2half2_rn(o[dt][2 * hr] * inv, o[dt][2 * hr + 1] * inv);
  }
}

}  // namespace

cudaError_t launch_prefill_attention(const PagedKvCache& kv, const PrefillAttentionArgs& a,
                                     cudaStream_t stream) {
  if (check_paged_kv_shape(kv) != cudaSuccess || !a.q || !a.out || !a.q_indptr ||
      a.max_q_len <= 0 || a.n_heads <= 0 || a.n_heads % kv.n_kv_heads != 0 || !(a.scale > 0.0f) ||
      kv.head_dim > 128 || a.window < 0)
    return cudaErrorInvalidValue;
  const int64_t rows = static_cast<int64_t>(a.max_q_len) * (a.n_heads / kv.n_kv_heads);
  if (rows > (int64_t{1} << 30)) return cudaErrorInvalidValue;
  const dim3 grid(static_cast<unsigned>((rows + kRows - 1) / kRows), kv.n_kv_heads, kv.batch);
  const bool int8 = kv.dtype == KvCacheDtype::kInt8;
  auto kernel = kv.head_dim == 64 ? (int8 ? prefill_kernel<64, true> : prefill_kernel<64, false>)
                                  : (int8 ? prefill_kernel<128, true> : prefill_kernel<128, false>);
  return loom_launch(kernel, grid, dim3(kThreads), 0, stream, kv, a.q, a.q_indptr, a.n_heads,
                     a.scale * kLog2e, a.window, a.out);
}

}  // namespace loom::cuda
