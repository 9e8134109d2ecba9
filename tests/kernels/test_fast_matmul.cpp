// matmul_fast (the "fast" numerics: repacked weights, int8 activations with
// fp32 scales) against a float64 reference of the dequantized weights times
// the float activations, within the activation-quantization bound; every
// ISA bit-equal with the scalar kernel of the same layout; batch, stride and thread
// invariance; odd row counts, tails of token tiles, padding untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/cpu/fast_matmul.h"
#include "kernels/cpu/thread_pool.h"
#include "kernel_test_util.h"

namespace loom {
namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();
constexpr GgmlType kFastTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0};

struct Problem {
  GgmlType type;
  int64_t rows, cols, n_tokens, ldx, ldy;
  std::vector<uint8_t> weights;
  std::vector<float> x;
  PackedWeights packed;

  Problem(GgmlType t, int64_t r, int64_t c, int64_t nt, uint32_t seed)
      : type(t), rows(r), cols(c), n_tokens(nt), ldx(c + 5), ldy(r + 3) {
    std::mt19937 rng(seed);
    weights = test::random_rows(t, r, c, rng);
    x = test::random_floats(ldx * nt, rng);
    packed = pack_weights(view());
  }
  WeightView view() const { return {type, weights.data(), rows, cols, test::row_bytes(type, cols)}; }
  std::vector<float> run(ThreadPool* pool, int64_t t0 = 0, int64_t nt = -1) const {
    if (nt < 0) nt = n_tokens;
    std::vector<float> y(ldy * nt, kPoison);
    matmul_fast(packed, x.data() + t0 * ldx, ldx, nt, y.data(), ldy, pool);
    return y;
  }
};

// |sum_k W[k] x[k] - fast| <= sum_k |W[k]| * d_a(k) / 2 (each activation is
// rounded to a multiple of its block's d_a = amax/127) plus float rounding.
void check_reference(const Problem& p, const std::vector<float>& y) {
  const size_t rb = test::row_bytes(p.type, p.cols);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const float* x = &p.x[t * p.ldx];
    std::vector<double> da(p.cols / 32);
    for (int64_t b = 0; b < p.cols / 32; ++b) {
      double amax = 0;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(double(x[b * 32 + i])));
      da[b] = amax / 127.0;
    }
    for (int64_t r = 0; r < p.ldy; ++r) {
      const float got = y[t * p.ldy + r];
      if (r >= p.rows) {
        ASSERT_TRUE(std::isnan(got)) << "padding written at t=" << t << " r=" << r;
        continue;
      }
      const auto w = test::dequantized(p.type, &p.weights[r * rb], p.cols);
      double ref = 0, bound = 0, mag = 0;
      for (int64_t k = 0; k < p.cols; ++k) {
        ref += double(w[k]) * x[k];
        bound += std::fabs(double(w[k])) * da[k / 32] * 0.5;
        mag += std::fabs(double(w[k]) * x[k]);
      }
      ASSERT_NEAR(got, ref, bound * 1.001 + 1e-5 * mag + 1e-6)
          << test::type_name(p.type) << " t=" << t << " r=" << r << " cols=" << p.cols;
    }
  }
}

TEST(FastMatmul, MatchesFloat64ReferenceOnEveryIsa) {
  for (Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    uint32_t seed = 1;
    for (GgmlType type : kFastTypes)
      for (int64_t rows : {1, 5, 16, 17, 40})
        for (int64_t cols : {32, 96, 576})
          for (int64_t nt : {1, 3, 9, 13}) {
            SCOPED_TRACE(std::string(isa_name(isa)) + " " + test::type_name(type) + " rows=" +
                         std::to_string(rows) + " cols=" + std::to_string(cols) + " nt=" + std::to_string(nt));
            Problem p(type, rows, cols, nt, seed++);
            check_reference(p, p.run(nullptr));
          }
  }
}

TEST(FastMatmul, EveryIsaGivesTheScalarBits) {
  for (GgmlType type : kFastTypes) {
    Problem p(type, 45, 1536, 11, 77);
    std::vector<float> want;
    {
      test::IsaScope scope(Isa::Scalar);
      want = p.run(nullptr);
    }
    for (Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      const auto got = p.run(nullptr);
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i])) {
          ASSERT_TRUE(std::isnan(got[i]));
          continue;
        }
        // Same int8 activations, exact integer block sums, the same fmas.
        ASSERT_EQ(got[i], want[i])
            << isa_name(isa) << " " << test::type_name(type) << " i=" << i;
      }
    }
  }
}

TEST(FastMatmul, BatchStrideAndThreadInvariant) {
  ThreadPool pool(3);
  for (Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    for (GgmlType type : kFastTypes) {
      Problem p(type, 70, 192, 19, 5);
      const auto all = p.run(nullptr);
      const auto threaded = p.run(&pool);
      for (size_t i = 0; i < all.size(); ++i)
        if (!std::isnan(all[i])) ASSERT_EQ(all[i], threaded[i]) << "threads changed output " << i;
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        const auto one = p.run(nullptr, t, 1);
        for (int64_t r = 0; r < p.rows; ++r)
          ASSERT_EQ(one[r], all[t * p.ldy + r]) << isa_name(isa) << " " << test::type_name(type)
                                                 << " token " << t << " alone differs at row " << r;
      }
    }
  }
}

TEST(FastMatmul, MatmulDispatchesToPackedWeights) {
  Problem p(GgmlType::Q4_1, 20, 64, 2, 9);
  WeightView v = p.view();
  v.packed = &p.packed;
  std::vector<float> y(p.ldy * 2, kPoison);
  matmul(v, p.x.data(), p.ldx, 2, y.data(), p.ldy, nullptr);
  const auto want = p.run(nullptr);
  for (size_t i = 0; i < y.size(); ++i)
    if (!std::isnan(want[i])) ASSERT_EQ(y[i], want[i]);
}

TEST(FastMatmul, RejectsUnsupported) {
  std::vector<uint8_t> w(test::row_bytes(GgmlType::Q5_0, 64) * 2);
  EXPECT_FALSE(fast_packable(GgmlType::Q5_0));
  EXPECT_THROW(pack_weights({GgmlType::Q5_0, w.data(), 2, 64, test::row_bytes(GgmlType::Q5_0, 64)}), KernelError);
}

}  // namespace
}  // namespace loom
