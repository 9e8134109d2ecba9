// The online-softmax step of the int8 AVX2 paged attention
// (attention_int8_avx2.cpp). Include only from files built with -mavx2 -mfma.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/activation_expf_avx2.h"

namespace loom::cpu::avx2 {

inline void scale_f32(float* x, float c, int32_t d) {
  const __m256 vc = _mm256_set1_ps(c);
  for (int32_t i = 0; i < d; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vc));
}

// Turns s[0..n) into exp(s - m_new) in place, folds the block into the
// running (m, l, acc) state: acc and l are rescaled to the new max first.
inline void online_softmax_update(float* s, int32_t n, float& m, float& l, float* acc, int32_t d) {
  float block_max = -std::numeric_limits<float>::infinity();
  for (int32_t j = 0; j < n; ++j) block_max = std::max(block_max, s[j]);
  const float m_new = std::max(m, block_max);
  if (m_new > m) {
    const float correction = std::exp(m - m_new);  // 0 on the first block (m = -inf)
    l *= correction;
    scale_f32(acc, correction, d);
    m = m_new;
  }
  const __m256 vm = _mm256_set1_ps(m);
  __m256 vsum = _mm256_setzero_ps();
  int32_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 p = expf8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
    _mm256_storeu_ps(s + j, p);
    vsum = _mm256_add_ps(vsum, p);
  }
  float sum = hsum8(vsum);
  for (; j < n; ++j) {
    s[j] = std::exp(s[j] - m);
    sum += s[j];
  }
  l += sum;
}

}  // namespace loom::cpu::avx2
