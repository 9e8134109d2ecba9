// AVX-512 (F/BW/VL/DQ + VNNI) dot kernels. The quantized ones (Q4_0, Q4_1,
// Q5_0, Q8_0) are 16-row GEMM panels: one weight row per lane, vpdpbusd of
// unsigned weight bytes by broadcast signed activation bytes; a single dot is
// a panel of one row and one token. Float ones are plain lane-parallel loops.
#include <immintrin.h>

#include <cstddef>
#include <cstring>
#include <vector>

// GCC 12 flags the deliberately undefined pass-through operands inside its own
// AVX-512 intrinsic headers (a known false positive); nothing here is uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::avx512 {
namespace {

// ---- GEMM panels ---------------------------------------------------------
// Lane l of every register belongs to weight row l of the panel. A block of
// 32 weights per row is unpacked into 8 registers q[g]: lane l holds the 4
// unsigned bytes of row l that pair with activation bytes 4g..4g+3, so one
// vpdpbusd with those 4 activation bytes broadcast (a memory operand)
// advances 16 rows at once. Per (row, token) the float work follows
// vec_dot.h's order: eight lane accumulators (one per group of 4 bytes), one
// fma each per block, folded at the end: the same bits for any panel, token
// count or row count (lanes never mix).

struct PanelBlock {
  __m512i q[8];
  __m512 d;  // row scales
  __m512 m;  // Q4_1 row minimums (unused otherwise)
};

// Where a panel's rows are: row l (clamped to rows - 1 so a short panel
// reads only real rows) at base + idx[l].
struct PanelRows {
  const uint8_t* base;
  size_t stride;
  int rows;
  __m512i idx;  // byte offsets of the rows, for the scale gathers

  PanelRows(const void* w, size_t w_stride, int n_rows)
      : base(static_cast<const uint8_t*>(w)), stride(w_stride), rows(n_rows) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    idx = _mm512_mullo_epi32(_mm512_min_epi32(lane, _mm512_set1_epi32(rows - 1)),
                             _mm512_set1_epi32(int32_t(stride)));
  }
  const uint8_t* row(int l) const { return base + size_t(l < rows ? l : rows - 1) * stride; }
};

// v[g] lane l = dword g of the 16 bytes at rows.row(l) + off.
inline void transpose_16x4(const PanelRows& rows, size_t off, __m512i v[4]) {
  __m512i z[4];  // z[k], 128-bit lane j: row k + 4j
  for (int k = 0; k < 4; ++k) {
    auto ld = [&](int l) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows.row(l) + off)); };
    z[k] = _mm512_broadcast_i32x4(ld(k));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0x00F0, ld(k + 4));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0x0F00, ld(k + 8));
    z[k] = _mm512_mask_broadcast_i32x4(z[k], 0xF000, ld(k + 12));
  }
  const __m512i t0 = _mm512_unpacklo_epi32(z[0], z[1]), t1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(z[2], z[3]), t3 = _mm512_unpackhi_epi32(z[2], z[3]);
  v[0] = _mm512_unpacklo_epi64(t0, t2);
  v[1] = _mm512_unpackhi_epi64(t0, t2);
  v[2] = _mm512_unpacklo_epi64(t1, t3);
  v[3] = _mm512_unpackhi_epi64(t1, t3);
}

// The 32-bit word at the start of each row's block (d, then m or qs bytes).
inline __m512i gather_head(const PanelRows& rows, size_t block_off) {
  return _mm512_i32gather_epi32(rows.idx, rows.base + block_off, 1);
}
inline __m512 low_half_to_float(__m512i v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }

// Q4_0 / Q4_1 (and Q5_0's low 4 bits): nibbles as they are (0..15); Q4_0's
// -8 is applied through the activation side's corr[g] = 8 * sum(y[4g..4g+3]).
template <typename Block>
inline PanelBlock unpack_q4(const PanelRows& rows, int64_t b) {
  PanelBlock pb;
  const size_t off = size_t(b) * sizeof(Block);
  __m512i v[4];
  transpose_16x4(rows, off + offsetof(Block, qs), v);
  const __m512i lo = _mm512_set1_epi8(0x0F);
  for (int g = 0; g < 4; ++g) {
    pb.q[g] = _mm512_and_si512(v[g], lo);                             // elements 4g..4g+3
    pb.q[g + 4] = _mm512_and_si512(_mm512_srli_epi32(v[g], 4), lo);  // elements 16+4g..
  }
  const __m512i head = gather_head(rows, off);
  pb.d = low_half_to_float(head);
  pb.m = low_half_to_float(_mm512_srli_epi32(head, 16));  // Q4_1's m; garbage for Q4_0, unused
  return pb;
}

// Q5_0: the Q4 nibbles plus 16 where bit j of qh is set for element j
// (0..31); the -16 comes back through corr[g] = 16 * sum(y[4g..4g+3]). Byte k
// of q[g] is element 4g + k: vpshufb copies qh byte (4g)/8 of the lane's
// gathered qh word into it, and a test of bit (4g + k) % 8 masks the +16.
inline PanelBlock unpack_q5_0(const PanelRows& rows, int64_t b) {
  PanelBlock pb = unpack_q4<BlockQ5_0>(rows, b);
  const __m512i qh = gather_head(rows, size_t(b) * sizeof(BlockQ5_0) + offsetof(BlockQ5_0, qh));
  // vpshufb indexes within 128-bit lanes: dword p of a lane is at bytes 4p..4p+3.
  const __m512i dword_base = _mm512_set4_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0x00000000);
  const __m512i sixteen = _mm512_set1_epi8(16);
  for (int g = 0; g < 8; ++g) {
    const __m512i ctrl = _mm512_add_epi8(dword_base, _mm512_set1_epi8(char(g / 2)));
    const __m512i qh_byte = _mm512_shuffle_epi8(qh, ctrl);
    const __m512i bit = _mm512_set1_epi32(int32_t(0x08040201u << (4 * (g % 2))));
    pb.q[g] = _mm512_mask_add_epi8(pb.q[g], _mm512_test_epi8_mask(qh_byte, bit), pb.q[g], sixteen);
  }
  pb.m = _mm512_setzero_ps();  // unpack_q4 read qh bytes there
  return pb;
}

// Q8_0: signed bytes + 128 (unsigned for vpdpbusd); corr[g] = 128 * sum(y[4g..4g+3]).
inline PanelBlock unpack_q8_0(const PanelRows& rows, int64_t b) {
  PanelBlock pb;
  const size_t off = size_t(b) * sizeof(BlockQ8_0);
  const __m512i bias = _mm512_set1_epi8(int8_t(0x80));
  __m512i v[4];
  for (int half = 0; half < 2; ++half) {
    transpose_16x4(rows, off + offsetof(BlockQ8_0, qs) + 16 * half, v);
    for (int g = 0; g < 4; ++g) pb.q[4 * half + g] = _mm512_xor_si512(v[g], bias);
  }
  pb.d = low_half_to_float(gather_head(rows, off));
  pb.m = _mm512_setzero_ps();
  return pb;
}

enum class Fmt { Q4_0, Q4_1, Q5_0, Q8_0 };

template <Fmt F>
inline PanelBlock unpack(const PanelRows& rows, int64_t b) {
  if constexpr (F == Fmt::Q4_0) return unpack_q4<BlockQ4_0>(rows, b);
  if constexpr (F == Fmt::Q4_1) return unpack_q4<BlockQ4_1>(rows, b);
  if constexpr (F == Fmt::Q5_0) return unpack_q5_0(rows, b);
  if constexpr (F == Fmt::Q8_0) return unpack_q8_0(rows, b);
}

// Activation rows of a token group, and where block b's bytes are.
template <Fmt F>
constexpr size_t kActBlockBytes = F == Fmt::Q4_1 ? sizeof(BlockQ8_1) : sizeof(BlockQ8_0);
template <Fmt F>
constexpr size_t kActQsOffset = F == Fmt::Q4_1 ? offsetof(BlockQ8_1, qs) : offsetof(BlockQ8_0, qs);

inline __m512i bcast_dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Per token: the eight group accumulators of vec_dot.h's order, and Q4_1's
// separate sum of m_w * s_a.
struct TokenAcc {
  __m512 lane[8];
  __m512 mins;
};

// acc[t] += this block's contribution for T tokens (the fixed per-output order).
template <Fmt F, int T>
inline void accumulate(const PanelBlock& w, const int8_t* const ya[T], const ActBlockInfo* const info[T],
                       TokenAcc acc[T]) {
  for (int t = 0; t < T; ++t) {
    const int8_t* y = ya[t];
    const __m512 scale = _mm512_mul_ps(w.d, _mm512_set1_ps(info[t]->d));
    for (int g = 0; g < 8; ++g) {
      // Exact integer sum of 4 products (the offset correction folded in first).
      const __m512i start = F == Fmt::Q4_1 ? _mm512_setzero_si512() : _mm512_set1_epi32(-info[t]->corr[g]);
      const __m512i s = _mm512_dpbusd_epi32(start, w.q[g], bcast_dword(y + 4 * g));
      acc[t].lane[g] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(s), acc[t].lane[g]);
    }
    if constexpr (F == Fmt::Q4_1) acc[t].mins = _mm512_fmadd_ps(w.m, _mm512_set1_ps(info[t]->s), acc[t].mins);
  }
}

// hsum_float_8 of the lanes, row by row, plus the Q4_1 minimums.
inline __m512 fold(const TokenAcc& a) {
  __m512 b[4];
  for (int i = 0; i < 4; ++i) b[i] = _mm512_add_ps(a.lane[i + 4], a.lane[i]);
  return _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(b[0], b[2]), _mm512_add_ps(b[1], b[3])), a.mins);
}

struct PanelArgs {
  int64_t nb;
  const uint8_t* act;
  size_t a_stride;
  const ActBlockInfo* info;
  size_t info_stride;
  float* out;
  int64_t ldo;
  __mmask16 store_mask;
};

// Tokens [t0, t0 + T) over all blocks; block b's weights from get(b).
template <Fmt F, int T, typename GetBlock>
inline void token_group(const PanelArgs& p, int64_t t0, GetBlock get) {
  TokenAcc acc[T];
  const int8_t* ya[T];
  const ActBlockInfo* info[T];
  for (int t = 0; t < T; ++t) {
    for (auto& l : acc[t].lane) l = _mm512_setzero_ps();
    acc[t].mins = _mm512_setzero_ps();
    ya[t] = reinterpret_cast<const int8_t*>(p.act + (t0 + t) * p.a_stride + kActQsOffset<F>);
    info[t] = p.info + (t0 + t) * p.info_stride;
  }
  for (int64_t b = 0; b < p.nb; ++b) {
    accumulate<F, T>(get(b), ya, info, acc);
    for (int t = 0; t < T; ++t) ya[t] += kActBlockBytes<F>, ++info[t];
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(p.out + (t0 + t) * p.ldo, p.store_mask, fold(acc[t]));
}

// Grow-only per-thread buffer for an unpacked panel (n/32 PanelBlocks: 30 KB
// for 1536 columns, so it stays in L1/L2 while the tokens stream past).
PanelBlock* panel_scratch(int64_t nb) {
  thread_local std::vector<PanelBlock> buf;
  if (size_t(nb) > buf.size()) buf.resize(size_t(nb));
  return buf.data();
}

template <Fmt F>
void gemm_panel(int64_t n, const void* w, size_t w_stride, int rows, const void* act, size_t a_stride,
                const ActBlockInfo* info, size_t info_stride, int64_t n_tokens, float* out, int64_t ldo) {
  const PanelRows pr(w, w_stride, rows);
  const PanelArgs p{n / kQK, static_cast<const uint8_t*>(act), a_stride, info, info_stride, out, ldo,
                    __mmask16((1u << rows) - 1)};
  // Decode: unpack straight into registers, once per block.
  auto live = [&](int64_t b) { return unpack<F>(pr, b); };
  if (n_tokens == 1) return token_group<F, 1>(p, 0, live);
  if (n_tokens == 2) return token_group<F, 2>(p, 0, live);
  // Batches: unpack the whole panel once, then stream pairs of tokens (two
  // tokens' 18 accumulators fit the 32 registers).
  PanelBlock* panel = panel_scratch(p.nb);
  for (int64_t b = 0; b < p.nb; ++b) panel[b] = unpack<F>(pr, b);
  auto stored = [&](int64_t b) -> const PanelBlock& { return panel[b]; };
  int64_t t = 0;
  for (; t + 2 <= n_tokens; t += 2) token_group<F, 2>(p, t, stored);
  if (t < n_tokens) token_group<F, 1>(p, t, stored);
}

// Activation-side block info. Q8_1 (for Q4_1): d and s; Q8_0: d and the
// integer correction for the weights' unsigned offset.
void prepare_q8_1(int64_t n, const void* act, ActBlockInfo* info) {
  const auto* y = static_cast<const BlockQ8_1*>(act);
  for (int64_t b = 0; b < n / kQK; ++b) info[b] = {half_to_float(y[b].d), half_to_float(y[b].s), {}};
}
template <int32_t Offset>
void prepare_q8_0(int64_t n, const void* act, ActBlockInfo* info) {
  const auto* y = static_cast<const BlockQ8_0*>(act);
  for (int64_t b = 0; b < n / kQK; ++b) {
    info[b] = {half_to_float(y[b].d), 0.f, {}};
    for (int g = 0; g < 8; ++g) {
      const int8_t* q = y[b].qs + 4 * g;
      info[b].corr[g] = Offset * (q[0] + q[1] + q[2] + q[3]);
    }
  }
}

// One dot = the panel with one row and one token (same bits as in matmul).
template <const GemmKernel& K>
float panel_dot(int64_t n, const void* w, const void* a) {
  thread_local std::vector<ActBlockInfo> info;
  if (info.size() < size_t(n / kQK) + 1) info.resize(size_t(n / kQK) + 1);
  K.prepare(n, a, info.data());
  float out;
  K.panel(n, w, 0, 1, a, 0, info.data(), 0, 1, &out, 0);
  return out;
}

}  // namespace

const GemmKernel kGemmQ4_0{prepare_q8_0<8>, gemm_panel<Fmt::Q4_0>};
const GemmKernel kGemmQ4_1{prepare_q8_1, gemm_panel<Fmt::Q4_1>};
const GemmKernel kGemmQ5_0{prepare_q8_0<16>, gemm_panel<Fmt::Q5_0>};
const GemmKernel kGemmQ8_0{prepare_q8_0<128>, gemm_panel<Fmt::Q8_0>};

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) { return panel_dot<kGemmQ4_0>(n, w, a); }
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) { return panel_dot<kGemmQ4_1>(n, w, a); }
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) { return panel_dot<kGemmQ5_0>(n, w, a); }
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) { return panel_dot<kGemmQ8_0>(n, w, a); }

float dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16 * k), _mm512_loadu_ps(y + i + 16 * k), acc[k]);
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : __mmask16((1u << (n - i)) - 1);
    acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), acc[0]);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

namespace {

// 16 half/bfloat16 values at p (fewer under mask m, the rest 0) as floats.
inline __m512 load_f16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 load_bf16(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

template <__m512 (*Load)(const uint16_t*, __mmask16)>
float dot_half(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(Load(x + i, 0xFFFF), Load(y + i, 0xFFFF), acc0);
    acc1 = _mm512_fmadd_ps(Load(x + i + 16, 0xFFFF), Load(y + i + 16, 0xFFFF), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : __mmask16((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(Load(x + i, m), Load(y + i, m), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace

float dot_f16(int64_t n, const void* w, const void* a) { return dot_half<load_f16>(n, w, a); }
float dot_bf16(int64_t n, const void* w, const void* a) { return dot_half<load_bf16>(n, w, a); }

}  // namespace loom::avx512
