// Every dot kernel on every ISA the CPU has, against two float64 references:
//  - tight: the exact product of the stored weights and the stored (quantized)
//    activations; only float rounding separates the kernel from it;
//  - loose: the exact product with the unquantized activations, within the
//    bound that activation quantization allows (derived from the formats).
// And every ISA against the scalar kernel.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <random>

#include "kernels/cpu/quantize.h"
#include "kernels/cpu/vec_dot.h"
#include "kernel_test_util.h"

namespace loom {
namespace {

std::vector<int64_t> sizes_for(GgmlType type) {
  switch (test::block_elems(type)) {
    case 1: return {1, 7, 16, 33, 64, 577, 1000};
    case 32: return {32, 64, 96, 544, 576, 1568};
    default: return {256, 512, 768, 1280};
  }
}

// Per-element |weight| as the kernel splits it: for Q4_1, |d*q| + |m| (the
// min multiplies the activation's stored block sum, not the elements).
std::vector<double> weight_abs(GgmlType type, const void* row, int64_t n) {
  std::vector<double> out(n);
  if (type == GgmlType::Q4_1) {
    const auto* x = static_cast<const BlockQ4_1*>(row);
    for (int64_t i = 0; i < n; ++i) {
      const auto& b = x[i / 32];
      const int j = int(i % 32);
      const int q = j < 16 ? (b.qs[j] & 0xF) : (b.qs[j - 16] >> 4);
      out[i] = std::fabs(double(half_to_float(b.d)) * q) + std::fabs(half_to_float(b.m));
    }
    return out;
  }
  const auto w = test::dequantized(type, row, n);
  for (int64_t i = 0; i < n; ++i) out[i] = std::fabs(w[i]);
  return out;
}

// Extra loose-bound slack for Q4_1: the stored block sum s is fp16-rounded.
double q4_1_sum_slack(const void* wrow, const void* arow, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(wrow);
  const auto* y = static_cast<const BlockQ8_1*>(arow);
  double slack = 0;
  for (int64_t b = 0; b < n / 32; ++b)
    slack += std::fabs(half_to_float(x[b].m)) * std::fabs(half_to_float(y[b].s)) * 0x1.0p-10;
  return slack;
}

class VecDot : public ::testing::TestWithParam<GgmlType> {};

TEST_P(VecDot, MatchesFloat64ReferencesOnEveryIsa) {
  const GgmlType type = GetParam();
  const GgmlType atype = activation_type(type);
  std::mt19937 rng(1234 + uint32_t(type));
  for (int64_t n : sizes_for(type)) {
    const auto w = test::random_rows(type, 1, n, rng);
    const auto x = test::random_floats(n, rng);
    std::vector<uint8_t> a(test::row_bytes(atype, n));
    quantize_row(atype, x.data(), a.data(), n);

    const auto tight = test::reference_dot(type, w.data(), atype, a.data(), n);
    const int64_t n_terms = test::block_elems(type) == 1 ? n / 8 + 8 : n / test::block_elems(type);
    const double tight_tol = test::float_sum_tolerance(tight.magnitude, n_terms);

    const auto wf = test::dequantized(type, w.data(), n);
    const auto wabs = weight_abs(type, w.data(), n);
    const auto err = test::activation_error_bound(atype, x.data(), n);
    double exact = 0, loose_tol = tight_tol;
    for (int64_t i = 0; i < n; ++i) exact += double(wf[i]) * x[i], loose_tol += wabs[i] * err[i];
    if (type == GgmlType::Q4_1) loose_tol += q4_1_sum_slack(w.data(), a.data(), n);

    // Each kernel: the one-token dot, and the one llama.cpp's order gives a
    // large batch's tokens (batch_dots' head; the same kernel for most types).
    for (int kernel = 0; kernel < 2; ++kernel) {
    auto kernel_for = [&](Isa isa) { return kernel == 0 ? vec_dot_fn(type, isa) : batch_dots(type, isa, 8).head; };
    const float scalar = kernel_for(Isa::Scalar)(n, w.data(), a.data());
    for (Isa isa : test::supported_isas()) {
      SCOPED_TRACE(test::type_name(type) + " n=" + std::to_string(n) + " isa=" + std::string(isa_name(isa)) +
                   (kernel ? " batch order" : ""));
      const float got = kernel_for(isa)(n, w.data(), a.data());
      ASSERT_TRUE(std::isfinite(got));
      EXPECT_NEAR(got, tight.value, tight_tol);
      EXPECT_NEAR(got, exact, loose_tol);
      EXPECT_NEAR(got, scalar, 2 * tight_tol);
      // K-quant kernels promise scalar's exact bits; Q4_0/Q4_1/Q5_0/Q8_0 sum
      // in llama.cpp's order on every ISA (vec_dot.h), so they do too.
      const bool same_order = test::block_elems(type) == 256 || type == GgmlType::Q4_0 ||
                              type == GgmlType::Q4_1 || type == GgmlType::Q5_0 || type == GgmlType::Q8_0;
      if (same_order) {
        EXPECT_EQ(std::memcmp(&got, &scalar, 4), 0);
      }
    }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, VecDot, ::testing::ValuesIn(test::kWeightTypes),
                         [](const auto& info) { return test::type_name(info.param); });

// The GEMM panels give the same bits as one dot per output (batch_dots'
// kernel for that token of that batch), for every panel height and token
// count (decode path: 1-2 tokens unpacked in registers; batches: a stored
// panel and groups of 4 + remainder; K-quants: llama.cpp's batch orders
// from 4 and 8 tokens), and write nothing outside rows x tokens.
TEST_P(VecDot, GemmPanelMatchesOneDotBitwise) {
  const GgmlType type = GetParam();
  const GgmlType atype = activation_type(type);
  std::mt19937 rng(99 + uint32_t(type));
  for (Isa isa : test::supported_isas()) {
    const GemmKernel* gemm = gemm_kernel(type, isa);
    if (!gemm) continue;
    for (int64_t n : sizes_for(type)) {
      const size_t w_stride = test::row_bytes(type, n) + 6;  // rows not packed
      const size_t a_stride = test::row_bytes(atype, n) + 12;  // not packed, Q8_K's float still aligned
      const int64_t nb = n / 32, max_tokens = 9;
      std::vector<uint8_t> w(w_stride * kPanelRows), a(a_stride * max_tokens);
      for (int r = 0; r < kPanelRows; ++r) {
        const auto row = test::random_rows(type, 1, n, rng);
        std::memcpy(&w[r * w_stride], row.data(), row.size());
      }
      std::vector<ActBlockInfo> info(nb * max_tokens);
      for (int t = 0; t < max_tokens; ++t) {
        const auto x = test::random_floats(n, rng);
        quantize_row(atype, x.data(), &a[t * a_stride], n);
        gemm->prepare(n, &a[t * a_stride], &info[t * nb]);
      }
      for (int rows : {1, 5, 16})
        for (int64_t tokens : {1, 2, 3, 4, 5, 8, 9}) {
          const BatchDots dots = batch_dots(type, isa, tokens);
          const int64_t ldo = kPanelRows + 3;
          std::vector<float> out(ldo * tokens, NAN);
          gemm->panel(n, w.data(), w_stride, rows, a.data(), a_stride, info.data(), nb, tokens, out.data(), ldo);
          for (int64_t t = 0; t < tokens; ++t)
            for (int r = 0; r < ldo; ++r) {
              if (r >= rows) {
                EXPECT_TRUE(std::isnan(out[t * ldo + r])) << "written outside the panel: r=" << r;
                continue;
              }
              const VecDotFn dot = t < dots.head_tokens ? dots.head : dots.tail;
              const float one = dot(n, &w[r * w_stride], &a[t * a_stride]);
              EXPECT_EQ(std::memcmp(&one, &out[t * ldo + r], 4), 0) << test::type_name(type) << " isa="
                  << isa_name(isa) << " n=" << n << " rows=" << rows << " tokens=" << tokens << " r=" << r
                  << " t=" << t;
            }
        }
    }
  }
}

// The loose reference must be able to fail: a wrong activation scale is caught.
TEST(VecDotSanity, DetectsWrongScale) {
  std::mt19937 rng(7);
  const int64_t n = 256;
  const auto w = test::random_rows(GgmlType::Q8_0, 1, n, rng);
  const auto x = test::random_floats(n, rng);
  std::vector<BlockQ8_0> a(n / 32);
  quantize_row(GgmlType::Q8_0, x.data(), a.data(), n);
  const auto ref = test::reference_dot(GgmlType::Q8_0, w.data(), GgmlType::Q8_0, a.data(), n);
  a[3].d = float_to_half(2 * half_to_float(a[3].d));
  const float got = vec_dot_fn(GgmlType::Q8_0, Isa::Scalar)(n, w.data(), a.data());
  EXPECT_GT(std::fabs(got - ref.value), test::float_sum_tolerance(ref.magnitude, n / 32));
}

// Q5_0 element j of a block, decoded here from the format definition.
int q5_0_spec(const BlockQ5_0& b, int j) {
  uint32_t qh;
  std::memcpy(&qh, b.qh, 4);
  const int nibble = j < 16 ? b.qs[j] & 0xF : b.qs[j - 16] >> 4;
  return (nibble | int((qh >> j) & 1) << 4) - 16;
}

// Q5_0 with unit scales, so every sum is an exact integer: the extremes (all
// -16, all +15, alternating high bits) against +-127 activations, and one-hot
// activations that read each element alone (the layout), on every ISA.
TEST(VecDotQ5_0, ExactOnExtremesAndOneHotOnEveryIsa) {
  constexpr int kBlocks = 5, n = 32 * kBlocks;
  std::mt19937 rng(50);
  std::vector<BlockQ5_0> w(kBlocks);
  std::vector<BlockQ8_0> a(kBlocks);
  std::uniform_int_distribution<int> byte(0, 255), act(-127, 127);
  for (int b = 0; b < kBlocks; ++b) {
    w[b].d = a[b].d = float_to_half(1.f);
    for (auto& q : w[b].qs) q = uint8_t(byte(rng));
    for (auto& q : w[b].qh) q = uint8_t(byte(rng));
    for (auto& q : a[b].qs) q = int8_t(act(rng));
  }
  auto fill = [](auto& field, int byte) { std::memset(field, byte, sizeof(field)); };
  fill(w[0].qs, 0x00), fill(w[0].qh, 0x00), fill(a[0].qs, 127);   // every weight -16
  fill(w[1].qs, 0xFF), fill(w[1].qh, 0xFF), fill(a[1].qs, -127);  // every weight +15
  fill(w[2].qs, 0x0F), fill(w[2].qh, 0x55), w[2].qh[3] = 0xAA;    // alternating high bits
  int64_t expect = 0;
  for (int i = 0; i < n; ++i) expect += int64_t{q5_0_spec(w[i / 32], i % 32)} * a[i / 32].qs[i % 32];
  ASSERT_EQ(q5_0_spec(w[0], 7), -16);
  ASSERT_EQ(q5_0_spec(w[1], 30), 15);
  for (Isa isa : test::supported_isas()) {
    const VecDotFn dot = vec_dot_fn(GgmlType::Q5_0, isa);
    EXPECT_EQ(dot(n, w.data(), a.data()), float(expect)) << isa_name(isa);
    std::vector<BlockQ8_0> one_hot(kBlocks);
    for (int i = 0; i < n; ++i) {
      for (auto& b : one_hot) {
        b.d = float_to_half(1.f);
        fill(b.qs, 0);
      }
      one_hot[i / 32].qs[i % 32] = 1;
      ASSERT_EQ(dot(n, w.data(), one_hot.data()), float(q5_0_spec(w[i / 32], i % 32)))
          << isa_name(isa) << " element " << i;
    }
  }
}

TEST(VecDotDispatch, RejectsUnsupported) {
  EXPECT_THROW(vec_dot_fn(GgmlType::Q5_1, Isa::Scalar), KernelError);
  EXPECT_THROW(vec_dot_fn(GgmlType::IQ2_XXS, Isa::Scalar), KernelError);
  for (Isa isa : test::kAllIsas)
    if (!isa_supported(isa)) {
      EXPECT_THROW(vec_dot_fn(GgmlType::Q4_0, isa), KernelError);
    }
}

TEST(IsaDispatch, OverrideAndDetection) {
  EXPECT_TRUE(isa_supported(Isa::Scalar));
  EXPECT_TRUE(isa_supported(detected_isa()));
  {
    test::IsaScope scope(Isa::Scalar);
    EXPECT_EQ(active_isa(), Isa::Scalar);
  }
  std::printf("detected ISA: %s\n", isa_name(detected_isa()).data());
}

// LOOM_ISA is read once at startup. The child run of this binary checks that
// the value it was given is the active ISA before anything overrides it.
TEST(IsaDispatch, EnvironmentSelectsIsa) {
  const char* env = std::getenv("LOOM_ISA");
  if (env && std::string(env) == "scalar" && std::getenv("LOOM_ISA_CHILD")) {
    EXPECT_EQ(active_isa(), Isa::Scalar);
    return;
  }
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string cmd = "LOOM_ISA=scalar LOOM_ISA_CHILD=1 '" + self +
                          "' --gtest_filter=IsaDispatch.EnvironmentSelectsIsa > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string bogus = "LOOM_ISA=sse9 LOOM_ISA_CHILD=1 '" + self +
                            "' --gtest_filter=IsaDispatch.OverrideAndDetection > /dev/null 2>&1";
  EXPECT_EQ(std::system(bogus.c_str()), 0) << "an unknown LOOM_ISA must fall back, not crash";
}

}  // namespace
}  // namespace loom
