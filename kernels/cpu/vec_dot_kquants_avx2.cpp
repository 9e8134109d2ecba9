// AVX2 K-quant x Q8_K dot kernels: maddubs (unsigned weight x signed
// activation byte pairs, no overflow for weights <= 63) then madd by the
// sub-block scale gives exact int32 sums per super-block; the float step is
// the scalar kernels' own (scalar::q4k_add, k_accumulate), or for Q6_K the
// same per-lane fma and fold, so results are bit-identical to them.
#include <immintrin.h>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::avx2 {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 8 int32: sum over the 32 bytes of u*y, each pair-sum times `scale`
// (scale16: int16 scale per int16 lane).
inline __m256i scaled_dot(__m256i u, __m256i y, __m256i scale16) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), scale16);
}

// Q4_K/Q5_K integer sum: `group(g, &lo, &hi)` gives the 32 weights of
// sub-blocks 2g and 2g+1.
template <typename Group>
int k_sumi(const uint8_t* scales, const int8_t* qy, Group group) {
  __m256i acc = _mm256_setzero_si256();
  for (int g = 0; g < 4; ++g) {
    uint8_t sc0, sc1, m;
    k_scale_min(2 * g, scales, &sc0, &m);
    k_scale_min(2 * g + 1, scales, &sc1, &m);
    __m256i lo, hi;
    group(g, &lo, &hi);
    acc = _mm256_add_epi32(acc, scaled_dot(lo, load256(qy + 64 * g), _mm256_set1_epi16(sc0)));
    acc = _mm256_add_epi32(acc, scaled_dot(hi, load256(qy + 64 * g + 32), _mm256_set1_epi16(sc1)));
  }
  return hsum_i32(acc);
}

}  // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  scalar::Q4KSums sums;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const int sumi = k_sumi(x[i].scales, y[i].qs, [&](int g, __m256i* lo, __m256i* hi) {
      const __m256i q = load256(x[i].qs + 32 * g);
      *lo = _mm256_and_si256(q, low4);
      *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
    });
    const int summ = scalar::k_min_sum(x[i].scales, y[i].bsums);
    scalar::q4k_add(sums, half_to_float(x[i].d), half_to_float(x[i].dmin), y[i].d, sumi, summ);
  }
  return scalar::q4k_result(sums);
}

float dot_q4_k_q8_k_grouped(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  scalar::Q4KSums sums;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = half_to_float(x[i].d), dmin = half_to_float(x[i].dmin);
    for (int g = 0; g < 4; ++g) {  // sub-blocks 2g (low nibbles) and 2g+1 (high)
      uint8_t sc0, sc1, m0, m1;
      k_scale_min(2 * g, x[i].scales, &sc0, &m0);
      k_scale_min(2 * g + 1, x[i].scales, &sc1, &m1);
      const __m256i q = load256(x[i].qs + 32 * g);
      const __m256i lo = scaled_dot(_mm256_and_si256(q, low4), load256(y[i].qs + 64 * g), _mm256_set1_epi16(sc0));
      const __m256i hi = scaled_dot(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), load256(y[i].qs + 64 * g + 32),
                                    _mm256_set1_epi16(sc1));
      const int16_t* bs = y[i].bsums + 4 * g;
      scalar::q4k_add(sums, d, dmin, y[i].d, hsum_i32(_mm256_add_epi32(lo, hi)),
                      m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]));
    }
  }
  return scalar::q4k_result(sums);
}

float dot_q5_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F), bit4 = _mm256_set1_epi8(0x10);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const __m256i qh = load256(x[i].qh);
    const int sumi = k_sumi(x[i].scales, y[i].qs, [&](int g, __m256i* lo, __m256i* hi) {
      const __m256i q = load256(x[i].qs + 32 * g);
      // Bit 2g of qh[l]: fifth bit of element l of sub-block 2g; bit 2g+1: of sub-block 2g+1.
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), 4), bit4);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g + 1)), 4), bit4);
      *lo = _mm256_or_si256(_mm256_and_si256(q, low4), h0);
      *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h1);
    });
    const int summ = scalar::k_min_sum(x[i].scales, y[i].bsums);
    sum = scalar::k_accumulate(sum, half_to_float(x[i].d), y[i].d, sumi, half_to_float(x[i].dmin), summ);
  }
  return sum;
}

// Q6_K: maddubs takes the stored 6-bit values u (0..63); the offset is taken
// back with Q8_K's 16-element sums: sum (u-32)*y = sum u*y - 32*bsum. The 8
// int32 lanes are scalar::q6k_lanes' lanes.
namespace {
__m256i q6k_lanes(const BlockQ6_K& x, const BlockQ8_K& y) {
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  const int8_t* sc = x.scales;
  // int16 lanes 0-7 cover the first 16 bytes (one sub-block), 8-15 the next.
  auto scales_for = [&](int j) { return _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j])); };
  __m256i acc = _mm256_setzero_si256();
  for (int half = 0; half < 2; ++half) {
    const __m256i ql_a = load256(x.ql + 64 * half), ql_b = load256(x.ql + 64 * half + 32);
    const __m256i qh = load256(x.qh + 32 * half);
    auto high = [&](int shift) {  // bits shift..shift+1 of qh, moved to bits 4..5
      return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), two), 4);
    };
    const __m256i v[4] = {
        _mm256_or_si256(_mm256_and_si256(ql_a, low4), high(0)),
        _mm256_or_si256(_mm256_and_si256(ql_b, low4), high(2)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql_a, 4), low4), high(4)),
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql_b, 4), low4), high(6)),
    };
    for (int c = 0; c < 4; ++c)  // chunk c = elements 32c..32c+31 of this half
      acc = _mm256_add_epi32(acc, scaled_dot(v[c], load256(y.qs + 128 * half + 32 * c), scales_for(8 * half + 2 * c)));
  }
  // Lane l: 32 * (sc[2l] * bsum[2l] + sc[2l+1] * bsum[2l+1]).
  const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sc)));
  const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(y.bsums), sc16), 5);
  return _mm256_sub_epi32(acc, corr);
}
}  // namespace

float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  __m256 facc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const __m256 dyd = _mm256_set1_ps(y[i].d * half_to_float(x[i].d));
    facc = _mm256_fmadd_ps(dyd, _mm256_cvtepi32_ps(q6k_lanes(x[i], y[i])), facc);
  }
  alignas(32) float lanes[scalar::kQ6KLanes];
  _mm256_store_ps(lanes, facc);
  return scalar::q6k_result(lanes);
}

float dot_q6_k_q8_k_tiled(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float acc = 0;
  for (int64_t i = 0; i < n / kQKK; ++i)
    acc = scalar::q6k_tiled_add(acc, half_to_float(x[i].d), y[i].d, hsum_i32(q6k_lanes(x[i], y[i])));
  return acc;
}

}  // namespace loom::avx2
