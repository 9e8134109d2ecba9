#include "kernels/cpu/norm.h"

#include <cmath>

#include "kernels/cpu/f16.h"

namespace loom::cpu {

namespace avx2 {  // norm_avx2.cpp
double sum_squares(const float* x, int64_t n);
}  // namespace avx2

namespace {

double sum_squares_scalar(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  return sum;
}

void scale_row(const float* x, const float* w, float* y, int64_t dim, double sum, float eps) {
  const float mean = static_cast<float>(sum / static_cast<double>(dim));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < dim; ++i) y[i] = x[i] * scale * w[i];  // vectorizes; same order as ggml
}

}  // namespace

namespace ref {
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < n_rows; ++r) {
    scale_row(x + r * dim, weight, y + r * dim, dim, sum_squares_scalar(x + r * dim, dim), eps);
  }
}
}  // namespace ref

void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps) {
  const bool simd = cpu_has_avx2_fma_f16c();
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = x + r * dim;
    const double sum = simd ? avx2::sum_squares(row, dim) : sum_squares_scalar(row, dim);
    scale_row(row, weight, y + r * dim, dim, sum, eps);
  }
}

}  // namespace loom::cpu
