// Softmax with the 8-wide expf; three passes (max, exp+sum, scale).
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/activation_expf_avx2.h"

namespace loom::cpu::avx2 {

void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  __m256 vmax = _mm256_set1_ps(kNegInf);
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  float max = hmax8(vmax);
  for (; i < n; ++i) max = std::fmax(max, x[i]);
  if (max == kNegInf) {
    for (i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }

  const __m256 vm = _mm256_set1_ps(max);
  __m256 vsum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = expf8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum8(vsum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }

  const __m256 inv = _mm256_set1_ps(1.0f / sum);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  for (; i < n; ++i) x[i] *= 1.0f / sum;
}

}  // namespace loom::cpu::avx2
