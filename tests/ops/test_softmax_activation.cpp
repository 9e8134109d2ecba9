#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/softmax.h"
#include "tests/ops/op_test_util.h"

namespace loom::cpu {
namespace {

std::vector<double> softmax_f64(const std::vector<float>& x) {
  double max = -INFINITY;
  for (float v : x) max = std::max(max, static_cast<double>(v));
  std::vector<double> y(x.size());
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) sum += y[i] = std::exp(x[i] - max);
  for (auto& v : y) v /= sum;
  return y;
}

TEST(Softmax, MatchesFloat64Reference) {
  for (size_t n : {1, 3, 7, 8, 17, 64, 100, 1000, 49152}) {
    for (float range : {1.0f, 30.0f, 200.0f}) {
      auto x = test::random_floats(n, static_cast<uint32_t>(n * 31 + range), -range, range);
      const auto want = softmax_f64(x);
      auto fast = x, slow = x;
      softmax_inplace(fast.data(), static_cast<int64_t>(n));
      ref::softmax_inplace(slow.data(), static_cast<int64_t>(n));
      // Relative to the value plus an absolute floor for tiny probabilities.
      EXPECT_LE(test::worst_error(fast, want, 1e-9, 2e-5), 1.0) << n << " " << range;
      EXPECT_LE(test::worst_error(slow, want, 1e-9, 2e-5), 1.0) << n << " " << range;
    }
  }
}

TEST(Softmax, MaskedEntriesAndShiftInvariance) {
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> x = {1.0f, ninf, 2.0f, ninf, 3.0f, 0.5f, ninf, -1.0f, 4.0f, ninf, 1000.0f};
  auto shifted = x;
  for (auto& v : shifted) v -= 50.0f;
  softmax_inplace(x.data(), static_cast<int64_t>(x.size()));
  softmax_inplace(shifted.data(), static_cast<int64_t>(shifted.size()));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], shifted[i], 1e-6);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[9], 0.0f);
  EXPECT_NEAR(x[10], 1.0f, 1e-6);

  std::vector<float> all_masked(9, ninf);
  softmax_inplace(all_masked.data(), 9);
  for (float v : all_masked) EXPECT_EQ(v, 0.0f);
}

TEST(SwiGlu, MatchesFloat64Reference) {
  for (size_t n : {1, 7, 64, 1536, 1537}) {
    auto g = test::random_floats(n, static_cast<uint32_t>(n), -12.0f, 12.0f);
    auto u = test::random_floats(n, static_cast<uint32_t>(n + 1), -3.0f, 3.0f);
    g[0] = -100.0f;  // exp(100) territory: silu must go to -0, not NaN
    if (n > 1) g[1] = 100.0f;
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
    std::vector<float> fast(n), slow(n);
    swiglu(g.data(), u.data(), fast.data(), static_cast<int64_t>(n));
    ref::swiglu(g.data(), u.data(), slow.data(), static_cast<int64_t>(n));
    EXPECT_LE(test::worst_error(fast, want, 1e-30, 1e-6), 1.0) << n;
    EXPECT_LE(test::worst_error(slow, want, 1e-30, 1e-6), 1.0) << n;
    EXPECT_EQ(fast, slow) << n;  // the AVX2 path does the reference's operations lane for lane
  }
}

// Gates across the whole range of ggml's exp, its saturation and the
// vectors that mix fast and slow lanes: the AVX2 path still gives the
// reference's bits, and silu stays finite with the right limit.
TEST(SwiGlu, WideRangeGivesTheReferenceBits) {
  std::vector<float> g;
  for (float x = -220.0f; x <= 220.0f; x += 0.37f) g.push_back(x);
  for (float x : {-104.0f, -103.9f, -88.5f, -87.4f, 86.9f, 88.4f, 89.0f, 0.0f, -0.0f}) g.push_back(x);
  const std::vector<float> u(g.size(), 1.5f);
  std::vector<float> fast(g.size()), slow(g.size());
  swiglu(g.data(), u.data(), fast.data(), static_cast<int64_t>(g.size()));
  ref::swiglu(g.data(), u.data(), slow.data(), static_cast<int64_t>(g.size()));
  EXPECT_EQ(fast, slow);
  for (size_t i = 0; i < g.size(); ++i) {
    const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * 1.5;
    ASSERT_TRUE(std::isfinite(fast[i])) << g[i];
    EXPECT_NEAR(fast[i], want, 1e-6 * (1 + std::fabs(want))) << g[i];
  }
}

TEST(SwiGlu, OutputMayAliasGate) {
  std::vector<float> g = {1.0f, -2.0f, 0.0f, 3.0f, 0.5f, -0.5f, 2.0f, 8.0f, -8.0f};
  std::vector<float> u(g.size(), 2.0f);
  std::vector<float> want(g.size());
  for (size_t i = 0; i < g.size(); ++i) want[i] = 2.0f * g[i] / (1.0f + std::exp(-g[i]));
  swiglu(g.data(), u.data(), g.data(), static_cast<int64_t>(g.size()));
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-6f * (1 + std::abs(want[i])));
}

}  // namespace
}  // namespace loom::cpu

namespace loom::cpu {
namespace {

// The tanh GELU in float64 (the formula Gemma's activation is defined by).
double gelu_f64(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * x * (1.0 + 0.044715 * x * x)));
}

TEST(GeGlu, MatchesFloat64WithinTheFp16Table) {
  // gelu goes through an fp16 table: the input is rounded to fp16 (relative
  // 2^-11, times |gelu'| <= 1.13) and so is the output (relative 2^-11).
  const auto gate = test::random_floats(4096, 7, -12.0f, 12.0f);
  const auto up = test::random_floats(4096, 8, -2.0f, 2.0f);
  std::vector<float> out(gate.size());
  geglu(gate.data(), up.data(), out.data(), static_cast<int64_t>(gate.size()));
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    const double want = (g <= -10 ? 0.0 : g >= 10 ? g : gelu_f64(g)) * up[i];
    const double allowed = (1.2 * std::fabs(g) * 0x1p-11 + std::fabs(gelu_f64(g)) * 0x1p-11) * std::fabs(up[i]) + 1e-7;
    ASSERT_LE(std::fabs(out[i] - want), allowed) << "gate " << g << " up " << up[i];
  }
}

TEST(GeGlu, CutoffsAndAliasing) {
  std::vector<float> gate{-10.0f, -11.0f, 10.0f, 30.0f, 0.0f, 1.0f};
  std::vector<float> up{3.0f, 3.0f, 0.5f, 2.0f, 5.0f, 2.0f};
  geglu(gate.data(), up.data(), gate.data(), static_cast<int64_t>(gate.size()));
  EXPECT_EQ(gate[0], 0.0f);
  EXPECT_EQ(gate[1], 0.0f);
  EXPECT_EQ(gate[2], 5.0f);
  EXPECT_EQ(gate[3], 60.0f);
  EXPECT_EQ(gate[4], 0.0f);
  EXPECT_NEAR(gate[5], 2.0 * gelu_f64(1.0), 2.0 * 0.85 * 0x1p-10);
}

}  // namespace
}  // namespace loom::cpu
