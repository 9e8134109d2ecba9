// AVX-512 GEMM panels for Q4_K and Q6_K weights (prefill): up to 16 rows
// times any number of Q8_K tokens. Each row's super-block is unpacked once
// per panel (unsigned codes, and the int16 scale of every element pair) and
// reused for every token, which the one-row dot kernels redo per token.
//
// Bits: per (row, token) and super-block, the integer sum is exact (any
// order gives the same int), and the float step is scalar::k_accumulate's,
// lane-wise: sum + (d * yd * float(sumi) - dmin * yd * float(summ)), no fma
// (-ffp-contract=off). So every output equals dot_q4_k_q8_k / dot_q6_k_q8_k
// of that row and token, bit for bit (tests/kernels/test_kernels_kquant_gemm).
//   Q4_K: sumi = sum_j sc_j * sum(q * y) over sub-block j (q in 0..15),
//         summ = sum_j m_j * (Q8_K 16-element sums 2j, 2j+1).
//   Q6_K: sumi = sum_k sc_k * sum((u - 32) * y) = sum_k sc_k * sum(u * y)
//         - 32 * sum_k sc_k * bsum_k (u in 0..63), summ = 0, dmin = 0.
#include <immintrin.h>

#include <cstring>
#include <type_traits>

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
  for (int k = 0; k < 16; ++k) u.cm[k / 2][r][k % 2] = b.scales[k];
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

template <typename Block>
void kquant_panel(int64_t n, const void* weights, size_t w_stride, int rows, const void* activations,
                  size_t a_stride, const ActBlockInfo* /*info*/, size_t /*info_stride*/, int64_t n_tokens,
                  float* out, int64_t ldo) {
  constexpr bool kQ6 = std::is_same_v<Block, BlockQ6_K>;
  thread_local Unpacked u;
  const auto* w = static_cast<const uint8_t*>(weights);
  const auto* a = static_cast<const uint8_t*>(activations);
  const __mmask16 mask = static_cast<__mmask16>(rows >= kRows ? 0xFFFF : (1u << rows) - 1);
  for (int64_t i = 0; i < n / kQKK; ++i) {
    for (int r = 0; r < rows; ++r) unpack(reinterpret_cast<const Block*>(w + r * w_stride)[i], r, u);
    const __m512 d = _mm512_load_ps(u.d), dmin = _mm512_load_ps(u.dmin);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const BlockQ8_K& y = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride)[i];
      __m512i yq[4];
      for (int g = 0; g < 4; ++g) yq[g] = _mm512_loadu_si512(y.qs + 64 * g);
      __m512i acc[kRows];
      for (int r = 0; r < kRows; ++r) acc[r] = r < rows ? row_dot(u, r, yq) : _mm512_setzero_si512();
      __m512i sumi = reduce16(acc);
      __m512i summ = correction(u, y.bsums);
      if constexpr (kQ6) {
        sumi = _mm512_sub_epi32(sumi, _mm512_slli_epi32(summ, 5));
        summ = _mm512_setzero_si512();
      }
      const __m512 yd = _mm512_set1_ps(y.d);
      const __m512 plus = _mm512_mul_ps(_mm512_mul_ps(d, yd), _mm512_cvtepi32_ps(sumi));
      const __m512 minus = _mm512_mul_ps(_mm512_mul_ps(dmin, yd), _mm512_cvtepi32_ps(summ));
      float* o = out + t * ldo;
      const __m512 prev = i == 0 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, o);
      _mm512_mask_storeu_ps(o, mask, _mm512_add_ps(prev, _mm512_sub_ps(plus, minus)));
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
