// dequantize_row against gguf-py's independent numpy implementation
// (fixtures from tests/reference/make_quant_fixtures.py), plus the half /
// bfloat16 conversions against the IEEE definitions.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>
#include <vector>

#include "kernels/cpu/dequant.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernel_test_util.h"
#include "tests/common/test_paths.h"

namespace loom {
namespace {

std::vector<uint8_t> read_file(const std::string& name) {
  std::ifstream in(test::fixture_path("quant/" + name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name << " (run tests/reference/make_quant_fixtures.py)";
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DequantFixture : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantFixture, MatchesGgufPy) {
  const GgmlType type = GetParam();
  const auto name = test::type_name(type);
  const auto raw = read_file(name + ".bin");
  const auto expect_bytes = read_file(name + ".f32");
  const int64_t n = int64_t(expect_bytes.size() / 4);
  ASSERT_GT(n, 0);
  ASSERT_EQ(raw.size(), test::row_bytes(type, n));
  std::vector<float> expect(n), got(n, NAN);
  std::memcpy(expect.data(), expect_bytes.data(), expect_bytes.size());
  dequantize_row(type, raw.data(), got.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    // gguf-py computes in float32 with the same formulas: allow 1 ulp for
    // operation order (d*sc*q vs (d*sc)*q).
    if (!std::isfinite(expect[i])) {
      ASSERT_EQ(got[i], expect[i]) << name << " element " << i;  // inf stays inf
      continue;
    }
    const float tol = std::fabs(expect[i]) * 0x1.0p-22f;
    ASSERT_NEAR(got[i], expect[i], tol) << name << " element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantFixture,
                         ::testing::Values(GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0, GgmlType::Q4_1,
                                           GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K,
                                           GgmlType::Q6_K),
                         [](const auto& info) { return test::type_name(info.param); });

TEST(Dequant, F32IsCopy) {
  const float src[3] = {1.5f, -0.0f, 3e38f};
  float dst[3];
  dequantize_row(GgmlType::F32, src, dst, 3);
  EXPECT_EQ(std::memcmp(src, dst, sizeof(src)), 0);
}

TEST(Dequant, RejectsPartialBlocksAndUnsupportedTypes) {
  std::vector<uint8_t> buf(1024);
  std::vector<float> out(256);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_0, buf.data(), out.data(), 33), KernelError);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_K, buf.data(), out.data(), 32), KernelError);
  EXPECT_THROW(dequantize_row(GgmlType::Q5_1, buf.data(), out.data(), 32), KernelError);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_0, buf.data(), out.data(), -32), KernelError);
}

// Every half value: half -> float matches the IEEE-754 binary16 definition,
// and float -> half returns the same bits (NaNs stay NaN).
TEST(HalfConversion, AllValuesRoundTrip) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const int exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const float f = half_to_float(uint16_t(h));
    if (exp == 0x1F) {
      if (mant) {
        EXPECT_TRUE(std::isnan(f)) << h;
        EXPECT_EQ(float_to_half(f) & 0x7C00, 0x7C00);
        continue;
      }
      EXPECT_EQ(f, float(sign * INFINITY)) << h;
    } else {
      const double expect = exp == 0 ? sign * std::ldexp(mant, -24) : sign * std::ldexp(1024 + mant, exp - 25);
      EXPECT_EQ(double(f), expect) << h;
    }
    EXPECT_EQ(float_to_half(f), h) << h;
  }
}

// float -> half rounds to nearest, ties to even, overflows to inf.
TEST(HalfConversion, RoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f + 0x1.0p-11f), 0x3C00);          // tie -> even (down)
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1.0p-11f), 0x3C02);      // tie -> even (up)
  EXPECT_EQ(float_to_half(1.0f + 0x1.0p-11f + 0x1.0p-20f), 0x3C01);
  EXPECT_EQ(float_to_half(65520.f), 0x7C00);                     // rounds past max half
  EXPECT_EQ(float_to_half(65519.f), 0x7BFF);
  EXPECT_EQ(float_to_half(0x1.0p-25f), 0x0000);                  // tie to even: 0
  EXPECT_EQ(float_to_half(0x1.8p-25f), 0x0001);                  // smallest subnormal
  EXPECT_EQ(float_to_half(-2.0f), 0xC000);
}

TEST(Bf16Conversion, RoundsToNearestEven) {
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}

}  // namespace
}  // namespace loom
