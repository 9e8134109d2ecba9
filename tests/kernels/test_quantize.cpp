// quantize_row against float64 error bounds derived from each format's
// definition (round to nearest of x/d, fp16 rounding of the scale), plus the
// exact invariants (Q8_1 block sums, Q8_K bsums, |q| <= 127).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "kernels/cpu/quantize.h"
#include "kernel_test_util.h"

namespace loom {
namespace {

std::vector<float> test_input(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto x = test::random_floats(n, rng, 2.f);
  // An all-zero block, a constant block and a block with one outlier.
  std::fill(x.begin(), x.begin() + 32, 0.f);
  std::fill(x.begin() + 32, x.begin() + 64, -0.75f);
  if (n > 70) x[70] = 100.f;
  return x;
}

constexpr int64_t kN = 256 * 5;

TEST(QuantizeActivations, Q8_0WithinHalfStep) {
  const auto x = test_input(kN, 1);
  std::vector<BlockQ8_0> q(kN / 32);
  quantize_row(GgmlType::Q8_0, x.data(), q.data(), kN);
  for (int64_t b = 0; b < kN / 32; ++b) {
    double amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(double(x[32 * b + j])));
    const double d = amax / 127, d16 = half_to_float(q[b].d);
    EXPECT_NEAR(d16, d, d * 0x1.0p-11) << "block " << b;
    for (int j = 0; j < 32; ++j) {
      ASSERT_GE(q[b].qs[j], -127);
      const double err = std::fabs(double(x[32 * b + j]) - d16 * q[b].qs[j]);
      ASSERT_LE(err, 0.5 * d16 + 127 * std::fabs(d - d16) + 1e-4 * d + 1e-30) << b << "," << j;
    }
  }
}

TEST(QuantizeActivations, Q8_1SumMatchesQuants) {
  const auto x = test_input(kN, 2);
  std::vector<BlockQ8_1> q(kN / 32);
  quantize_row(GgmlType::Q8_1, x.data(), q.data(), kN);
  for (int64_t b = 0; b < kN / 32; ++b) {
    double amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(double(x[32 * b + j])));
    const double d = amax / 127, d16 = half_to_float(q[b].d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      sum += q[b].qs[j];
      const double err = std::fabs(double(x[32 * b + j]) - d16 * q[b].qs[j]);
      ASSERT_LE(err, 0.5 * d16 + 127 * std::fabs(d - d16) + 1e-4 * d + 1e-30) << b << "," << j;
    }
    // s = fp16(d * sum(q)) with the unrounded d.
    EXPECT_NEAR(half_to_float(q[b].s), d * sum, std::fabs(d * sum) * 0x1.0p-10 + 1e-7) << b;
  }
}

TEST(QuantizeActivations, Q8_KWithinHalfStepAndBsums) {
  const auto x = test_input(kN, 3);
  std::vector<BlockQ8_K> q(kN / 256);
  quantize_row(GgmlType::Q8_K, x.data(), q.data(), kN);
  for (int64_t b = 0; b < kN / 256; ++b) {
    double amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(double(x[256 * b + j])));
    EXPECT_NEAR(std::fabs(q[b].d), amax / 127, amax / 127 * 1e-6);
    for (int j = 0; j < 256; ++j) {
      const double err = std::fabs(double(x[256 * b + j]) - double(q[b].d) * q[b].qs[j]);
      ASSERT_LE(err, (0.5 + 1e-4) * amax / 127) << b << "," << j;
    }
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += q[b].qs[16 * g + l];
      EXPECT_EQ(q[b].bsums[g], sum);
    }
  }
}

TEST(QuantizeWeights, Q4_0WithinHalfStep) {
  const auto x = test_input(kN, 4);
  std::vector<BlockQ4_0> q(kN / 32);
  quantize_row(GgmlType::Q4_0, x.data(), q.data(), kN);
  const auto deq = test::dequantized(GgmlType::Q4_0, q.data(), kN);
  for (int64_t b = 0; b < kN / 32; ++b) {
    double amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(x[32 * b + j]) > amax) amax = std::fabs(x[32 * b + j]), max = x[32 * b + j];
    const double d = max / -8, d16 = half_to_float(q[b].d);
    for (int j = 0; j < 32; ++j) {
      const double xv = x[32 * b + j];
      // The grid is d*(-8..7): the value opposite the max (at +8|d|) clamps to 7.
      const double clamp_err = std::max(0.0, std::fabs(xv / d) - 7.5) * std::fabs(d);
      const double bound = 0.5 * std::fabs(d16) + clamp_err + 8 * std::fabs(d - d16) + 1e-4 * std::fabs(d);
      ASSERT_LE(std::fabs(xv - deq[32 * b + j]), bound + 1e-30) << b << "," << j;
    }
  }
}

TEST(QuantizeWeights, Q5_0WithinHalfStep) {
  const auto x = test_input(kN, 8);
  std::vector<BlockQ5_0> q(kN / 32);
  quantize_row(GgmlType::Q5_0, x.data(), q.data(), kN);
  const auto deq = test::dequantized(GgmlType::Q5_0, q.data(), kN);
  for (int64_t b = 0; b < kN / 32; ++b) {
    double amax = 0, max = 0;
    for (int j = 0; j < 32; ++j)
      if (std::fabs(x[32 * b + j]) > amax) amax = std::fabs(x[32 * b + j]), max = x[32 * b + j];
    const double d = max / -16, d16 = half_to_float(q[b].d);
    for (int j = 0; j < 32; ++j) {
      const double xv = x[32 * b + j];
      // The grid is d*(-16..15): the value opposite the max (at +16|d|) clamps to 15.
      const double clamp_err = std::max(0.0, std::fabs(xv / d) - 15.5) * std::fabs(d);
      const double bound = 0.5 * std::fabs(d16) + clamp_err + 16 * std::fabs(d - d16) + 1e-4 * std::fabs(d);
      ASSERT_LE(std::fabs(xv - deq[32 * b + j]), bound + 1e-30) << b << "," << j;
    }
  }
}

TEST(QuantizeWeights, Q4_1WithinHalfStep) {
  const auto x = test_input(kN, 5);
  std::vector<BlockQ4_1> q(kN / 32);
  quantize_row(GgmlType::Q4_1, x.data(), q.data(), kN);
  const auto deq = test::dequantized(GgmlType::Q4_1, q.data(), kN);
  for (int64_t b = 0; b < kN / 32; ++b) {
    const auto [lo, hi] = std::minmax_element(x.begin() + 32 * b, x.begin() + 32 * b + 32);
    const double d = (double(*hi) - *lo) / 15, d16 = half_to_float(q[b].d), m16 = half_to_float(q[b].m);
    const double bound = 0.5 * d + 15 * std::fabs(d - d16) + std::fabs(*lo - m16) + 1e-4 * d + 1e-30;
    for (int j = 0; j < 32; ++j)
      ASSERT_LE(std::fabs(x[32 * b + j] - deq[32 * b + j]), bound) << b << "," << j;
  }
}

// The SIMD quantizers write the same bytes as the scalar ones (the bounds
// above run on the default ISA; this pins the others to it).
TEST(QuantizeActivations, SameBytesOnEveryIsa) {
  const auto x = test_input(kN, 7);
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q8_1, GgmlType::Q8_K, GgmlType::F16, GgmlType::BF16}) {
    std::vector<uint8_t> ref(test::row_bytes(type, kN)), got(ref.size());
    {
      test::IsaScope scope(Isa::Scalar);
      quantize_row(type, x.data(), ref.data(), kN);
    }
    for (Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::fill(got.begin(), got.end(), 0xCD);
      quantize_row(type, x.data(), got.data(), kN);
      EXPECT_EQ(got, ref) << test::type_name(type) << " isa=" << isa_name(isa);
    }
  }
}

TEST(QuantizeActivations, FloatFormatsRoundOnce) {
  const auto x = test_input(64, 6);
  std::vector<uint16_t> h(64), bf(64);
  quantize_row(GgmlType::F16, x.data(), h.data(), 64);
  quantize_row(GgmlType::BF16, x.data(), bf.data(), 64);
  for (int i = 0; i < 64; ++i) {
    EXPECT_LE(std::fabs(half_to_float(h[i]) - x[i]), std::fabs(x[i]) * 0x1.0p-11);
    EXPECT_LE(std::fabs(bf16_to_float(bf[i]) - x[i]), std::fabs(x[i]) * 0x1.0p-8);
  }
}

TEST(QuantizeActivations, ActivationTypes) {
  EXPECT_EQ(activation_type(GgmlType::Q4_0), GgmlType::Q8_0);
  EXPECT_EQ(activation_type(GgmlType::Q5_0), GgmlType::Q8_0);  // as llama.cpp's vec_dot_type
  EXPECT_EQ(activation_type(GgmlType::Q8_0), GgmlType::Q8_0);
  EXPECT_EQ(activation_type(GgmlType::Q4_1), GgmlType::Q8_1);
  EXPECT_EQ(activation_type(GgmlType::Q4_K), GgmlType::Q8_K);
  EXPECT_EQ(activation_type(GgmlType::Q6_K), GgmlType::Q8_K);
  EXPECT_EQ(activation_type(GgmlType::F16), GgmlType::F16);
  EXPECT_THROW(activation_type(GgmlType::Q5_1), KernelError);
}

TEST(QuantizeActivations, RejectsBadInput) {
  std::vector<float> x(64);
  std::vector<uint8_t> out(1024);
  EXPECT_THROW(quantize_row(GgmlType::Q8_0, x.data(), out.data(), 33), KernelError);
  EXPECT_THROW(quantize_row(GgmlType::Q8_K, x.data(), out.data(), 64), KernelError);
  EXPECT_THROW(quantize_row(GgmlType::Q6_K, x.data(), out.data(), 256), KernelError);
}

}  // namespace
}  // namespace loom
