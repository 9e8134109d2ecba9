#include "kernels/cpu/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/f16.h"

namespace loom::cpu {

namespace avx2 {  // softmax_avx2.cpp
void softmax_inplace(float* x, int64_t n);
}  // namespace avx2

namespace ref {
void softmax_inplace(float* x, int64_t n) {
  if (n <= 0) return;
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::fmax(max, x[i]);
  if (max == -std::numeric_limits<float>::infinity()) {
    for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}
}  // namespace ref

void softmax_inplace(float* x, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::softmax_inplace(x, n);
  ref::softmax_inplace(x, n);
}

}  // namespace loom::cpu
