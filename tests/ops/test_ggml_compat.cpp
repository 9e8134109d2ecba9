// ggml_compat.h: the exp that llama.cpp's AVX-512 build uses, checked against
// double-precision exp (about 2 ulp: 1.45 + 0.5 by its authors, 2.04 seen),
// its saturation,
// and the two fp16 dot orders against a float64 dot.
#include "kernels/cpu/ggml_compat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace loom::cpu {
namespace {

TEST(GgmlCompatExp, WithinAboutTwoUlpOfExpOverTheNormalRange) {
  for (float x = -87.0f; x <= 88.5f; x += 0.013f) {
    const double want = std::exp(static_cast<double>(x));
    const float got = ggml::expf(x);
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    ASSERT_LE(std::fabs(got - want), 2.5 * ulp) << x;
  }
}

TEST(GgmlCompatExp, SubnormalResultsAndSaturation) {
  for (float x = -103.9f; x < -87.4f; x += 0.1f) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_LE(std::fabs(ggml::expf(x) - want), 2 * 0x1p-149 + 2e-7 * want) << x;
  }
  EXPECT_EQ(ggml::expf(-std::numeric_limits<float>::infinity()), 0.0f);  // masked scores
  EXPECT_EQ(ggml::expf(-300.0f), 0.0f);
  EXPECT_EQ(ggml::expf(300.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(ggml::expf(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(ggml::expf(std::numeric_limits<float>::quiet_NaN())));
}

// Inputs that are exact fp16 values, as the attention passes them.
std::vector<float> fp16_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> q(-2048, 2048);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(q(rng)) / 1024.0f;
  return v;
}

TEST(GgmlCompatDot, BothOrdersAreCorrectSums) {
  for (int64_t n : {16, 64, 80, 256, 1040}) {
    const auto x = fp16_values(n, 7 + n), y = fp16_values(n, 9 + n);
    double want = 0, magnitude = 0;
    for (int64_t i = 0; i < n; ++i)
      want += double(x[i]) * y[i], magnitude += std::fabs(double(x[i]) * y[i]);
    const double tol = magnitude * n * 0x1p-24;
    EXPECT_NEAR(ggml::dot_f16(ggml::F16Dot::kTiled16, x.data(), y.data(), n), want, tol) << n;
    EXPECT_NEAR(ggml::dot_f16(ggml::F16Dot::kVecDot64, x.data(), y.data(), n), want, tol) << n;
  }
}

TEST(GgmlCompatDot, OrderFollowsTheMatmulShape) {
  EXPECT_EQ(ggml::f16_dot_for(1, 64), ggml::F16Dot::kVecDot64);   // one decode row
  EXPECT_EQ(ggml::f16_dot_for(2, 64), ggml::F16Dot::kTiled16);    // a prefill chunk
  EXPECT_EQ(ggml::f16_dot_for(17, 72), ggml::F16Dot::kVecDot64);  // tinyBLAS needs n % 16 == 0
}

}  // namespace
}  // namespace loom::cpu
