// AVX-512 GEMM panels for Q4_K and Q6_K weights (prefill): up to 16 rows
// times any number of Q8_K tokens. Each row's super-block is unpacked once
// per panel (unsigned codes, and the int16 scale of every element pair) and
// reused for every token, which the one-row dot kernels redo per token.
//
// Bits: per (row, token) and super-block, the integer sums are exact (any
// order gives the same int), and the float step is the one-row kernels'
// (vec_dot_kernels.h), lane for lane: Q4_K two running sums, each one fma
// per super-block (per 64 elements for the first grouped_tokens(n) tokens,
// as llama.cpp's repacked GEMM), subtracted at the end; Q6_K eight lane sums, one fma each,
// folded as scalar::q6k_result does. So every output equals dot_q4_k_q8_k /
// dot_q6_k_q8_k of that row and token, bit for bit
// (tests/kernels/test_vec_dot.cpp).
//   Q4_K: sumi = sum_j sc_j * sum(q * y) over sub-block j (q in 0..15),
//         summ = sum_j m_j * (Q8_K 16-element sums 2j, 2j+1).
//   Q6_K: lane l = sum over bytes 4l..4l+3 of every 32-element chunk of
//         sc * u * y, minus 32 * (sc_2l * bsum_2l + sc_2l+1 * bsum_2l+1)
//         (u in 0..63).
#include <immintrin.h>

#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

// GCC 12 flags the deliberately undefined pass-through operands inside its own
// AVX-512 intrinsic headers (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace loom::avx512 {
namespace {

constexpr int kRows = kPanelRows;  // rows per panel, one output lane each

// One super-block column of a panel, unpacked.
struct Unpacked {
  alignas(64) uint8_t w[kRows][kQKK];       // unsigned codes, element order
  alignas(64) int16_t sc[kRows][kQKK / 2];  // scale of element pair p = (2p, 2p+1)
  // Weights of the Q8_K 16-element sums: int32 lane r of vector q holds the
  // pair (row r's weight of bsum 2q, of bsum 2q+1), for one madd per q.
  alignas(64) int16_t cm[8][kRows][2];
  alignas(64) int16_t sc16[kRows][16];  // Q6_K: row r's 16 group scales
  alignas(64) float d[kRows];
  alignas(64) float dmin[kRows];
};

void unpack(const BlockQ4_K& b, int r, Unpacked& u) {
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) k_scale_min(j, b.scales, &sc[j], &m[j]);
  for (int g = 0; g < 4; ++g)  // 64 elements: sub-block 2g (low nibbles), 2g+1 (high)
    for (int l = 0; l < 32; ++l) {
      u.w[r][64 * g + l] = b.qs[32 * g + l] & 0xF;
      u.w[r][64 * g + 32 + l] = b.qs[32 * g + l] >> 4;
    }
  for (int p = 0; p < kQKK / 2; ++p) u.sc[r][p] = sc[p / 16];
  for (int k = 0; k < 16; ++k) u.cm[k / 2][r][k % 2] = m[k / 2];
  u.d[r] = half_to_float(b.d);
  u.dmin[r] = half_to_float(b.dmin);
}

void unpack(const BlockQ6_K& b, int r, Unpacked& u) {
  for (int half = 0; half < 2; ++half) {  // dequant.cpp's element order
    const uint8_t* ql = b.ql + 64 * half;
    const uint8_t* qh = b.qh + 32 * half;
    uint8_t* o = u.w[r] + 128 * half;
    for (int l = 0; l < 32; ++l) {
      o[l] = (ql[l] & 0xF) | ((qh[l] >> 0 & 3) << 4);
      o[l + 32] = (ql[l + 32] & 0xF) | ((qh[l] >> 2 & 3) << 4);
      o[l + 64] = (ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4);
      o[l + 96] = (ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4);
    }
  }
  for (int p = 0; p < kQKK / 2; ++p) u.sc[r][p] = b.scales[p / 8];
  for (int k = 0; k < 16; ++k) u.sc16[r][k] = b.scales[k];
  u.d[r] = half_to_float(b.d);
  u.dmin[r] = 0.0f;
}

// 16 int32 lanes of row r's scaled products of one token (4 x 64 elements).
inline __m512i row_dot(const Unpacked& u, int r, const __m512i* y) {
  __m512i acc = _mm512_setzero_si512();
  for (int g = 0; g < 4; ++g) {
    const __m512i w = _mm512_load_si512(u.w[r] + 64 * g);
    const __m512i s = _mm512_load_si512(u.sc[r] + 32 * g);
    // |pair| <= 2 * 63 * 128 fits int16; the madd's int32 sums are exact.
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(w, y[g]), s));
  }
  return acc;
}

// Lane r = the sum of a[r]'s 16 lanes (an adder tree of unpacks and
// 128-bit shuffles: after it lane order is row order).
inline __m512i reduce16(const __m512i* a) {
  __m512i x[8], y[4], z[2];
  for (int k = 0; k < 8; ++k)
    x[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * k], a[2 * k + 1]), _mm512_unpackhi_epi32(a[2 * k], a[2 * k + 1]));
  for (int k = 0; k < 4; ++k)
    y[k] = _mm512_add_epi32(_mm512_unpacklo_epi64(x[2 * k], x[2 * k + 1]), _mm512_unpackhi_epi64(x[2 * k], x[2 * k + 1]));
  for (int k = 0; k < 2; ++k)
    z[k] = _mm512_add_epi32(_mm512_shuffle_i32x4(y[2 * k], y[2 * k + 1], 0x44),
                            _mm512_shuffle_i32x4(y[2 * k], y[2 * k + 1], 0xEE));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(z[0], z[1], 0x88), _mm512_shuffle_i32x4(z[0], z[1], 0xDD));
}

// Lane r = sum_k cm[r][k] * bsums[k].
inline __m512i correction(const Unpacked& u, const int16_t* bsums) {
  __m512i acc = _mm512_setzero_si512();
  for (int q = 0; q < 8; ++q) {
    int32_t pair;
    std::memcpy(&pair, bsums + 2 * q, sizeof pair);
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_load_si512(u.cm[q]), _mm512_set1_epi32(pair)));
  }
  return acc;
}

// Lane r = sum over sub-blocks 2g, 2g+1 of row r's m_j * (Q8_K sum of sub-block j).
inline __m512i correction_pair(const Unpacked& u, const int16_t* bsums, int g) {
  __m512i acc = _mm512_setzero_si512();
  for (int q = 2 * g; q < 2 * g + 2; ++q) {
    int32_t pair;
    std::memcpy(&pair, bsums + 2 * q, sizeof pair);
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_load_si512(u.cm[q]), _mm512_set1_epi32(pair)));
  }
  return acc;
}

// 16 int32 lanes of row r's scaled products over the 64 elements of group g.
inline __m512i row_dot_group(const Unpacked& u, int r, const __m512i* y, int g) {
  const __m512i w = _mm512_load_si512(u.w[r] + 64 * g);
  const __m512i s = _mm512_load_si512(u.sc[r] + 32 * g);
  return _mm512_madd_epi16(_mm512_maddubs_epi16(w, y[g]), s);
}

// Q4_K: state per token = acc[16 rows], acc_min[16 rows]. `grouped`: one
// fma step per 64 elements (llama.cpp's GEMM tokens), else one per super-block.
void q4k_tile(const Unpacked& u, int rows, const BlockQ8_K& y, bool grouped, float* state) {
  __m512i yq[4];
  for (int g = 0; g < 4; ++g) yq[g] = _mm512_loadu_si512(y.qs + 64 * g);
  const __m512 yd = _mm512_set1_ps(y.d);
  const __m512 d_yd = _mm512_mul_ps(_mm512_load_ps(u.d), yd);
  const __m512 dmin_yd = _mm512_mul_ps(_mm512_load_ps(u.dmin), yd);
  auto step = [&](__m512i sumi, __m512i summ) {
    _mm512_storeu_ps(state, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi), d_yd, _mm512_loadu_ps(state)));
    _mm512_storeu_ps(state + kRows, _mm512_fmadd_ps(_mm512_cvtepi32_ps(summ), dmin_yd, _mm512_loadu_ps(state + kRows)));
  };
  __m512i acc[kRows];
  if (!grouped) {
    for (int r = 0; r < kRows; ++r) acc[r] = r < rows ? row_dot(u, r, yq) : _mm512_setzero_si512();
    return step(reduce16(acc), correction(u, y.bsums));
  }
  for (int g = 0; g < 4; ++g) {
    for (int r = 0; r < kRows; ++r) acc[r] = r < rows ? row_dot_group(u, r, yq, g) : _mm512_setzero_si512();
    step(reduce16(acc), correction_pair(u, y.bsums, g));
  }
}

// Q6_K: state per token = 8 lane sums for each of 16 rows, or with `tiled`
// (llama.cpp's tiled matmul) one sum per row in the first 16 floats.
void q6k_tile(const Unpacked& u, int rows, const BlockQ8_K& y, bool tiled, float* state) {
  __m512i yq[4];
  for (int g = 0; g < 4; ++g) yq[g] = _mm512_loadu_si512(y.qs + 64 * g);
  const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y.bsums));
  __m512i sumi[kRows];
  for (int r = 0; r < kRows; ++r) {
    if (r >= rows) {
      sumi[r] = _mm512_setzero_si512();
      continue;
    }
    // Lanes k and k+8 of row_dot hold bytes 4k..4k+3 of an even and an odd chunk.
    const __m512i dot = row_dot(u, r, yq);
    const __m256i lanes = _mm256_add_epi32(_mm512_castsi512_si256(dot), _mm512_extracti64x4_epi64(dot, 1));
    const __m256i corr = _mm256_slli_epi32(
        _mm256_madd_epi16(bsums, _mm256_load_si256(reinterpret_cast<const __m256i*>(u.sc16[r]))), 5);
    const __m256i lane_sums = _mm256_sub_epi32(lanes, corr);
    if (tiled) {
      sumi[r] = _mm512_castsi256_si512(lane_sums);
      sumi[r] = _mm512_inserti64x4(sumi[r], _mm256_setzero_si256(), 1);
      continue;
    }
    const __m256 dyd = _mm256_set1_ps(y.d * u.d[r]);
    float* acc = state + 8 * r;
    _mm256_storeu_ps(acc, _mm256_fmadd_ps(dyd, _mm256_cvtepi32_ps(lane_sums), _mm256_loadu_ps(acc)));
  }
  if (!tiled) return;
  // fma(float(sumi) * d, yd, acc), as scalar::q6k_tiled_add.
  const __m512 r = _mm512_mul_ps(_mm512_cvtepi32_ps(reduce16(sumi)), _mm512_load_ps(u.d));
  _mm512_storeu_ps(state, _mm512_fmadd_ps(r, _mm512_set1_ps(y.d), _mm512_loadu_ps(state)));
}

template <typename Block>
void kquant_panel(int64_t n, const void* weights, size_t w_stride, int rows, const void* activations,
                  size_t a_stride, const ActBlockInfo* /*info*/, size_t /*info_stride*/, int64_t n_tokens,
                  float* out, int64_t ldo) {
  constexpr bool kQ6 = std::is_same_v<Block, BlockQ6_K>;
  constexpr int64_t kStatePerToken = kQ6 ? kRows * scalar::kQ6KLanes : 2 * kRows;
  thread_local Unpacked u;
  thread_local std::vector<float> state;
  state.assign(static_cast<size_t>(n_tokens * kStatePerToken), 0.0f);
  const auto* w = static_cast<const uint8_t*>(weights);
  const auto* a = static_cast<const uint8_t*>(activations);
  // Tokens [0, head) take llama.cpp's batch order (see batch_dots).
  const int64_t head = batch_head_tokens(kQ6 ? GgmlType::Q6_K : GgmlType::Q4_K, n_tokens);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    for (int r = 0; r < rows; ++r) unpack(reinterpret_cast<const Block*>(w + r * w_stride)[i], r, u);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const BlockQ8_K& y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride)[i];
      float* st = state.data() + t * kStatePerToken;
      if constexpr (kQ6) q6k_tile(u, rows, y, t < head, st);
      else q4k_tile(u, rows, y, t < head, st);
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* st = state.data() + t * kStatePerToken;
    for (int r = 0; r < rows; ++r) {
      float v;
      if constexpr (kQ6) v = t < head ? st[r] : scalar::q6k_result(st + 8 * r);
      else v = scalar::q4k_result({st[r], st[kRows + r]});
      out[t * ldo + r] = v;
    }
  }
}

void no_prepare(int64_t, const void*, ActBlockInfo*) {}

}  // namespace

// Unpacking a super-block column costs about what 16 one-row dots do, so a
// panel pays from a few tokens on; fewer (decode) take the dot kernels.
const GemmKernel kGemmQ4_K{no_prepare, kquant_panel<BlockQ4_K>, 4};
const GemmKernel kGemmQ6_K{no_prepare, kquant_panel<BlockQ6_K>, 4};

}  // namespace loom::avx512
