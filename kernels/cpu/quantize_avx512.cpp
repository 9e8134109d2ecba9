// AVX-512 activation quantization to Q8_0 / Q8_1: the same arithmetic as the
// scalar code in quantize.cpp (exact abs-max, d = amax/127, id = 127/amax,
// round half to even via vcvtps2dq), so the bytes are identical to it.
#include <immintrin.h>

// GCC 12 flags the deliberately undefined pass-through operands inside its own
// AVX-512 intrinsic headers (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_kernels.h"

namespace loom::avx512 {
namespace {

// One 32-float block: writes qs and returns d (unrounded); *sum = sum of qs.
inline float quantize_block(const float* x, int8_t* qs, int* sum) {
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  const __m512 a = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
  const float amax = _mm512_reduce_max_ps(a);
  const float d = amax / 127.f;
  const __m512 id = _mm512_set1_ps(amax != 0.f ? 127.f / amax : 0.f);
  const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, id));  // MXCSR default: nearest even
  const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, id));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtsepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtsepi32_epi8(q1));
  *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
  return d;
}

}  // namespace

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    int sum;
    y[i].d = float_to_half(quantize_block(x, y[i].qs, &sum));
  }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    int sum;
    const float d = quantize_block(x, y[i].qs, &sum);
    y[i].d = float_to_half(d);
    y[i].s = float_to_half(d * static_cast<float>(sum));
  }
}

}  // namespace loom::avx512
