#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/norm.h"
#include "tests/ops/op_test_util.h"

namespace loom::cpu {
namespace {

// y = x / sqrt(mean(x^2) + eps) * w, all in double.
std::vector<double> rms_norm_f64(const std::vector<float>& x, const std::vector<float>& w,
                                 int64_t rows, int64_t dim, double eps) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
    const double scale = 1.0 / std::sqrt(ss / dim + eps);
    for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = x[r * dim + i] * scale * w[i];
  }
  return y;
}

TEST(RmsNorm, MatchesFloat64Reference) {
  for (int64_t dim : {64, 128, 576, 1001}) {
    for (int64_t rows : {1, 3, 17}) {
      auto x = test::random_floats(rows * dim, 11 + dim + rows, -3.0f, 3.0f);
      auto w = test::random_floats(dim, 5 + dim, 0.5f, 1.5f);
      const auto want = rms_norm_f64(x, w, rows, dim, 1e-5);
      std::vector<float> fast(x.size()), slow(x.size());
      rms_norm(x.data(), w.data(), fast.data(), rows, dim, 1e-5f);
      ref::rms_norm(x.data(), w.data(), slow.data(), rows, dim, 1e-5f);
      EXPECT_LE(test::worst_error(fast, want, 1e-6, 2e-6), 1.0) << dim << "x" << rows;
      EXPECT_LE(test::worst_error(slow, want, 1e-6, 2e-6), 1.0) << dim << "x" << rows;
      // Only the double summation order differs between the two paths.
      for (size_t i = 0; i < fast.size(); ++i) ASSERT_NEAR(fast[i], slow[i], 1e-6 * std::abs(slow[i]));
    }
  }
}

TEST(RmsNorm, InPlaceAndEpsilonMatters) {
  const int64_t dim = 64;
  std::vector<float> x(dim, 0.0f), w(dim, 1.0f);
  x[0] = 1e-3f;  // mean of squares 1.5625e-8, far below eps
  std::vector<float> y = x;
  rms_norm(y.data(), w.data(), y.data(), 1, dim, 1e-5f);
  EXPECT_NEAR(y[0], 1e-3 / std::sqrt(1e-6 / 64 + 1e-5), 1e-7);
  EXPECT_EQ(y[1], 0.0f);
}

}  // namespace
}  // namespace loom::cpu
