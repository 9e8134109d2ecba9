// AVX-512 VNNI K-quant x Q8_K dot kernels. The integer sum of each
// super-block is computed with dpbusd and exact int32 arithmetic, then
// combined by the scalar kernels' own float step (scalar::q4k_add,
// k_accumulate; for Q6_K the same per-lane fma and fold), so the results are
// bit-identical to them.
#include <immintrin.h>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

// GCC 12 flags the deliberately undefined pass-through operands inside its own
// AVX-512 intrinsic headers (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace loom::avx512 {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }
inline __m512i join(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

// Lanes 0-7 = a, lanes 8-15 = b.
inline __m512i two_scales(int a, int b) { return _mm512_mask_set1_epi32(_mm512_set1_epi32(a), 0xFF00, b); }

// sum_j sc[j] * (sum of the 32 products of sub-block j) for Q4_K/Q5_K, where
// `group(g)` returns the 64 unsigned weights of sub-blocks 2g, 2g+1.
template <typename Group>
int k_sumi(const uint8_t* scales, const int8_t* qy, Group group) {
  __m512i acc = _mm512_setzero_si512();
  for (int g = 0; g < 4; ++g) {
    uint8_t sc0, sc1, m;
    k_scale_min(2 * g, scales, &sc0, &m);
    k_scale_min(2 * g + 1, scales, &sc1, &m);
    const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), group(g), load512(qy + 64 * g));
    acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(dot, two_scales(sc0, sc1)));
  }
  return _mm512_reduce_add_epi32(acc);
}

}  // namespace

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  scalar::Q4KSums sums;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const int sumi = k_sumi(x[i].scales, y[i].qs, [&](int g) {
      const __m256i q = load256(x[i].qs + 32 * g);
      return join(_mm256_and_si256(q, low4), _mm256_and_si256(_mm256_srli_epi16(q, 4), low4));
    });
    const int summ = scalar::k_min_sum(x[i].scales, y[i].bsums);
    scalar::q4k_add(sums, half_to_float(x[i].d), half_to_float(x[i].dmin), y[i].d, sumi, summ);
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
    const int sumi = k_sumi(x[i].scales, y[i].qs, [&](int g) {
      const __m256i q = load256(x[i].qs + 32 * g);
      // Bit 2g of qh[l] is the fifth bit of element l of sub-block 2g, bit 2g+1 of sub-block 2g+1.
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g)), 4), bit4);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * g + 1)), 4), bit4);
      return join(_mm256_or_si256(_mm256_and_si256(q, low4), h0),
                  _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h1));
    });
    const int summ = scalar::k_min_sum(x[i].scales, y[i].bsums);
    sum = scalar::k_accumulate(sum, half_to_float(x[i].d), y[i].d, sumi, half_to_float(x[i].dmin), summ);
  }
  return sum;
}

// Q6_K: dpbusd takes the stored 6-bit values u (0..63, unsigned); the offset
// is taken back with Q8_K's 16-element sums: sum (u-32)*y = sum u*y - 32*bsum.
// Lanes l and l+8 hold bytes 4l..4l+3 of an even and an odd 32-element chunk:
// their sum is scalar::q6k_lanes' lane l.
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03);
  __m256 facc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQKK; ++i) {
    // 16 sub-block scales as int32; lane k of a 64-element chunk m needs scale 4m + k/4.
    const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
    __m512i acc = _mm512_setzero_si512();
    for (int half = 0; half < 2; ++half) {
      const __m256i ql_a = load256(x[i].ql + 64 * half), ql_b = load256(x[i].ql + 64 * half + 32);
      const __m256i qh = load256(x[i].qh + 32 * half);
      auto high = [&](int shift) {  // bits shift..shift+1 of qh, moved to bits 4..5
        return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, shift), two), 4);
      };
      const __m256i v0 = _mm256_or_si256(_mm256_and_si256(ql_a, low4), high(0));
      const __m256i v1 = _mm256_or_si256(_mm256_and_si256(ql_b, low4), high(2));
      const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql_a, 4), low4), high(4));
      const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql_b, 4), low4), high(6));
      const int8_t* qy = y[i].qs + 128 * half;
      const __m512i d0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), join(v0, v1), load512(qy));
      const __m512i d1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), join(v2, v3), load512(qy + 64));
      const __m512i idx0 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
      const __m512i base = _mm512_set1_epi32(8 * half);
      const __m512i s0 = _mm512_permutexvar_epi32(_mm512_add_epi32(idx0, base), sc);
      const __m512i s1 = _mm512_permutexvar_epi32(_mm512_add_epi32(idx0, _mm512_add_epi32(base, _mm512_set1_epi32(4))), sc);
      acc = _mm512_add_epi32(acc, _mm512_add_epi32(_mm512_mullo_epi32(d0, s0), _mm512_mullo_epi32(d1, s1)));
    }
    const __m256i lanes = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[i].scales)));
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(y[i].bsums), sc16), 5);
    const __m256 dyd = _mm256_set1_ps(y[i].d * half_to_float(x[i].d));
    facc = _mm256_fmadd_ps(dyd, _mm256_cvtepi32_ps(_mm256_sub_epi32(lanes, corr)), facc);
  }
  alignas(32) float lanes[scalar::kQ6KLanes];
  _mm256_store_ps(lanes, facc);
  return scalar::q6k_result(lanes);
}

}  // namespace loom::avx512
