#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/f16.h"

namespace loom::cpu {
namespace {

// The half's value from its fields, straight from IEEE 754 binary16.
double half_value(uint16_t h) {
  const int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  const double s = sign ? -1.0 : 1.0;
  if (exp == 0x1f) return mant ? NAN : s * INFINITY;
  if (exp == 0) return s * std::ldexp(mant, -24);
  return s * std::ldexp(1024 + mant, exp - 25);
}

TEST(F16, EveryHalfWidensExactly) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = fp16_to_fp32(static_cast<uint16_t>(h));
    const double want = half_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << h;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
    }
  }
}

// Reference rounding: nearest finite non-negative half by value, ties to the
// even mantissa; beyond 65520 it is infinity.
uint16_t nearest_half(float f, const std::vector<double>& positive_values) {
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::abs(static_cast<double>(f));
  if (a >= 65520.0) return sign | 0x7c00;
  if (a > 65504.0) return sign | 0x7bff;
  auto it = std::lower_bound(positive_values.begin(), positive_values.end(), a);
  auto hi = static_cast<uint16_t>(it - positive_values.begin());
  if (positive_values[hi] == a || hi == 0) return sign | hi;
  const auto lo = static_cast<uint16_t>(hi - 1);
  const double dlo = a - positive_values[lo], dhi = positive_values[hi] - a;
  if (dlo < dhi) return sign | lo;
  if (dhi < dlo) return sign | hi;
  return sign | ((lo & 1) ? hi : lo);
}

TEST(F16, NarrowingRoundsToNearestEven) {
  std::vector<double> positive(0x7c00);  // finite non-negative halves, increasing
  for (uint32_t h = 0; h < 0x7c00; ++h) positive[h] = half_value(static_cast<uint16_t>(h));
  std::mt19937 rng(7);
  std::vector<float> inputs;
  // Exact halves, midpoints (ties) and random floats over the whole half range.
  for (uint32_t h = 0; h + 1 < 0x7c00; h += 3) {
    inputs.push_back(static_cast<float>(positive[h]));
    inputs.push_back(static_cast<float>((positive[h] + positive[h + 1]) / 2));
  }
  std::uniform_int_distribution<uint32_t> bits(0x00000000u, 0x47ffffffu);  // up to 131072
  for (int i = 0; i < 200000; ++i) inputs.push_back(std::bit_cast<float>(bits(rng)));
  inputs.insert(inputs.end(), {65504.0f, 65519.99f, 65520.0f, 1e30f, 5.9604645e-8f, 2.98e-8f, 2.9802322e-8f,
                               std::numeric_limits<float>::denorm_min()});
  const size_t n = inputs.size();
  for (size_t i = 0; i < n; ++i) inputs.push_back(-inputs[i]);

  std::vector<uint16_t> fast(inputs.size());
  fp32_to_fp16_row(inputs.data(), fast.data(), static_cast<int64_t>(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const uint16_t want = nearest_half(inputs[i], positive);
    ASSERT_EQ(fp32_to_fp16(inputs[i]), want) << inputs[i];
    ASSERT_EQ(fast[i], want) << inputs[i];
  }
}

TEST(F16, SpecialsAndRowPaths) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fp32_to_fp16(inf), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-inf), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  const uint16_t nan = fp32_to_fp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x3ff, 0);

  // Row converters (SIMD body + scalar tail, odd length) agree with the scalar ones.
  std::vector<uint16_t> halves(1037);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i * 61 % 0x7c00);
  std::vector<float> wide(halves.size()), wide_ref(halves.size());
  fp16_to_fp32_row(halves.data(), wide.data(), static_cast<int64_t>(halves.size()));
  ref::fp16_to_fp32_row(halves.data(), wide_ref.data(), static_cast<int64_t>(halves.size()));
  EXPECT_EQ(wide, wide_ref);
  for (size_t i = 0; i < halves.size(); ++i) ASSERT_EQ(wide[i], half_value(halves[i]));
}

TEST(F16, Bf16IsTheHighHalfOfFloat) {
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0xc0a0), -5.0f);
  EXPECT_TRUE(std::isinf(bf16_to_fp32(0x7f80)));
  std::vector<uint16_t> b = {0x3f80, 0x4000, 0x0001, 0xbf00};
  std::vector<float> f(b.size());
  bf16_to_fp32_row(b.data(), f.data(), 4);
  EXPECT_EQ(f[1], 2.0f);
  EXPECT_EQ(f[2], std::ldexp(1.0f, -133));
  EXPECT_EQ(f[3], -0.5f);
}

}  // namespace
}  // namespace loom::cpu
