#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/rope.h"
#include "tests/ops/op_test_util.h"

namespace loom::cpu {
namespace {

// Textbook RoPE in double: pair i rotates by pos * freq_scale / ff_i * base^(-2i/n_rot).
std::vector<double> rope_f64(const std::vector<float>& x, const RopeParams& p, int n_tokens,
                             int n_heads, const std::vector<int32_t>& pos) {
  std::vector<double> y(x.begin(), x.end());
  const int half = p.n_rot / 2;
  for (int t = 0; t < n_tokens; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      double* head = &y[(static_cast<size_t>(t) * n_heads + h) * p.head_dim];
      for (int i = 0; i < half; ++i) {
        const double ff = p.freq_factors ? p.freq_factors[i] : 1.0;
        const double theta =
            pos[t] * std::pow(static_cast<double>(p.freq_base), -2.0 * i / p.n_rot) * p.freq_scale / ff;
        const int a = p.mode == RopeMode::kNeox ? i : 2 * i;
        const int b = p.mode == RopeMode::kNeox ? i + half : 2 * i + 1;
        const double x0 = head[a], x1 = head[b];
        head[a] = x0 * std::cos(theta) - x1 * std::sin(theta);
        head[b] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    }
  }
  return y;
}

struct Case {
  RopeMode mode;
  int head_dim, n_rot;
  float base, scale;
  bool factors;
};

class RopeCases : public ::testing::TestWithParam<Case> {};

TEST_P(RopeCases, MatchesFloat64ReferenceAndLibraryRef) {
  const Case c = GetParam();
  const int n_heads = 3;
  std::vector<float> ff = test::random_floats(c.n_rot / 2, 3, 1.0f, 8.0f);
  RopeParams p{c.mode, c.head_dim, c.n_rot, c.base, c.scale, c.factors ? ff.data() : nullptr};
  for (int n_tokens : {1, 3, 17}) {
    std::vector<int32_t> pos(n_tokens);
    for (int t = 0; t < n_tokens; ++t) pos[t] = (t * 97 + 5) % 1200;  // up to ~1200, unordered
    auto x = test::random_floats(static_cast<size_t>(n_tokens) * n_heads * c.head_dim, n_tokens);
    const auto want = rope_f64(x, p, n_tokens, n_heads, pos);
    auto fast = x, slow = x;
    rope_apply(p, fast.data(), n_tokens, n_heads, pos.data());
    ref::rope_apply(p, slow.data(), n_tokens, n_heads, pos.data());
    EXPECT_EQ(fast, slow);  // same formula, per-token cache vs per-head recompute
    // ggml builds theta in float by repeated multiplication: the angle error is
    // ~ pos * i * theta_scale^i * 2^-24 plus the float rounding of pos-sized
    // angles, a few 1e-4 rad at pos ~1200 (measured ~2e-4).
    EXPECT_LE(test::worst_error(fast, want, 1e-3, 0.0), 1.0) << n_tokens;
    // Dimensions past n_rot are untouched.
    for (int t = 0; t < n_tokens * n_heads; ++t) {
      for (int i = c.n_rot; i < c.head_dim; ++i) ASSERT_EQ(fast[t * c.head_dim + i], x[t * c.head_dim + i]);
    }
  }
}

TEST_P(RopeCases, SmallPositionsAreTight) {
  const Case c = GetParam();
  std::vector<float> ff = test::random_floats(c.n_rot / 2, 3, 1.0f, 8.0f);
  RopeParams p{c.mode, c.head_dim, c.n_rot, c.base, c.scale, c.factors ? ff.data() : nullptr};
  std::vector<int32_t> pos = {1, 2, 7, 15};
  auto x = test::random_floats(4 * 2 * c.head_dim, 9);
  const auto want = rope_f64(x, p, 4, 2, pos);
  rope_apply(p, x.data(), 4, 2, pos.data());
  EXPECT_LE(test::worst_error(x, want, 2e-5, 0.0), 1.0);
}

TEST_P(RopeCases, PreservesPairNormsAndPositionZeroIsIdentity) {
  const Case c = GetParam();
  RopeParams p{c.mode, c.head_dim, c.n_rot, c.base, c.scale, nullptr};
  std::vector<int32_t> pos = {0, 513};
  auto x = test::random_floats(2 * c.head_dim, 21);
  auto y = x;
  rope_apply(p, y.data(), 2, 1, pos.data());
  for (int i = 0; i < c.head_dim; ++i) ASSERT_EQ(y[i], x[i]) << "position 0 must be identity";
  const int half = c.n_rot / 2;
  for (int i = 0; i < half; ++i) {
    const int a = c.head_dim + (c.mode == RopeMode::kNeox ? i : 2 * i);
    const int b = c.head_dim + (c.mode == RopeMode::kNeox ? i + half : 2 * i + 1);
    const double before = std::hypot(x[a], x[b]), after = std::hypot(y[a], y[b]);
    ASSERT_NEAR(after, before, 1e-6) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, RopeCases,
                         ::testing::Values(Case{RopeMode::kNorm, 64, 64, 10000.0f, 1.0f, false},
                                           Case{RopeMode::kNeox, 64, 64, 10000.0f, 1.0f, false},
                                           Case{RopeMode::kNorm, 128, 128, 500000.0f, 1.0f, true},
                                           Case{RopeMode::kNeox, 128, 128, 1000000.0f, 0.25f, false},
                                           Case{RopeMode::kNorm, 128, 64, 10000.0f, 1.0f, false},
                                           Case{RopeMode::kNeox, 128, 32, 10000.0f, 0.5f, true}));

TEST(Rope, NormModeRotatesAdjacentPairsNeoxRotatesHalves) {
  // One pair rotated by exactly theta_0 = pos for i = 0: e_0 -> (cos pos, sin pos).
  std::vector<float> x(8, 0.0f);
  x[0] = 1.0f;
  const int32_t pos = 1;
  RopeParams norm{RopeMode::kNorm, 8, 8, 10000.0f, 1.0f, nullptr};
  auto y = x;
  rope_apply(norm, y.data(), 1, 1, &pos);
  EXPECT_NEAR(y[0], std::cos(1.0), 1e-7);
  EXPECT_NEAR(y[1], std::sin(1.0), 1e-7);
  EXPECT_EQ(y[4], 0.0f);
  RopeParams neox{RopeMode::kNeox, 8, 8, 10000.0f, 1.0f, nullptr};
  y = x;
  rope_apply(neox, y.data(), 1, 1, &pos);
  EXPECT_NEAR(y[0], std::cos(1.0), 1e-7);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[4], std::sin(1.0), 1e-7);
}

TEST(Rope, RejectsBadParams) {
  std::vector<float> x(64);
  const int32_t pos = 0;
  EXPECT_THROW(rope_apply({RopeMode::kNorm, 64, 63, 1e4f, 1.0f, nullptr}, x.data(), 1, 1, &pos),
               std::invalid_argument);
  EXPECT_THROW(rope_apply({RopeMode::kNorm, 64, 66, 1e4f, 1.0f, nullptr}, x.data(), 1, 1, &pos),
               std::invalid_argument);
  EXPECT_THROW(rope_apply({RopeMode::kNorm, 64, 64, 0.0f, 1.0f, nullptr}, x.data(), 1, 1, &pos),
               std::invalid_argument);
  EXPECT_THROW(rope_apply({RopeMode::kNorm, 64, 64, 1e4f, NAN, nullptr}, x.data(), 1, 1, &pos),
               std::invalid_argument);
}

// Llama 3.1 8B: base 500000, factor 8, low 1, high 4, original context 8192.
// Expected values recomputed here from the published formula in double.
TEST(Rope, Llama3FactorsFollowTheWavelengthBands) {
  const Llama3RopeScaling s{8.0f, 1.0f, 4.0f, 8192};
  const auto f = llama3_rope_factors(s, 500000.0f, 128);
  ASSERT_EQ(f.size(), 64u);
  int ones = 0, eights = 0, between = 0;
  for (int i = 0; i < 64; ++i) {
    const double freq = std::pow(500000.0, -2.0 * i / 128);
    const double wavelen = 2 * std::numbers::pi / freq;
    double want;
    if (wavelen < 8192.0 / 4) {
      want = 1.0, ++ones;
    } else if (wavelen > 8192.0) {
      want = 8.0, ++eights;
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / 3.0;
      want = 1.0 / ((1 - smooth) / 8 + smooth), ++between;
    }
    EXPECT_NEAR(f[i], want, 1e-4 * want) << i;
  }
  EXPECT_GT(ones, 0);
  EXPECT_GT(eights, 0);
  EXPECT_GT(between, 0);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[63], 8.0f);
}

}  // namespace
}  // namespace loom::cpu
