// 8-wide versions of ggml_compat.h (include only from files built with
// -mavx2 -mfma -mf16c). Lane for lane the same operations as the scalar
// functions, so they give the same bits.
#pragma once
#include <immintrin.h>

#include "kernels/cpu/ggml_compat.h"

namespace loom::cpu::ggml::avx2 {

// tree16 of the 16 lanes [lo, hi].
inline float tree16(__m256 lo, __m256 hi) {
  const __m256 a = _mm256_add_ps(hi, lo);
  __m128 b = _mm_add_ps(_mm256_extractf128_ps(a, 1), _mm256_castps256_ps128(a));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

// ggml::expf on 8 lanes. While every |n| <= 125 the scale by 2^n is an exact
// multiply (the result stays normal); other vectors take the scalar path.
inline __m256 expf8(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                    _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  if (_mm256_movemask_ps(_mm256_cmp_ps(abs_n, _mm256_set1_ps(125.0f), _CMP_NLE_UQ))) {
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (float& e : v) e = ggml::expf(e);
    return _mm256_load_ps(v);
  }
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
          _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(j, _mm256_castsi256_ps(bits));
}

// ggml::silu on 8 lanes.
inline __m256 silu8(__m256 x) {
  const __m256 e = expf8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// Rounds to fp16 and back (nearest even), as ggml's fp32 -> fp16 copies do.
inline __m256 round_fp16(__m256 x) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

}  // namespace loom::cpu::ggml::avx2
