// The int8 KV element format (kernels/cpu/kv_quant.h) against the spec
// computed independently in float64: scale = amax / 127, q = round half to
// even of x * 127 / amax, clamp to [-127, 127].
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/kv_quant.h"

namespace loom::cpu {
namespace {

struct Quantized {
  std::vector<int8_t> q;
  float scale = 0.0f;
};

Quantized quantize(const std::vector<float>& x) {
  Quantized r;
  r.q.assign(x.size(), 99);  // garbage that a missed write would leave
  r.scale = kv_quantize_head(x.data(), r.q.data(), static_cast<int32_t>(x.size()));
  return r;
}

std::vector<float> random_head(size_t n, uint32_t seed, float magnitude) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, magnitude);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

// The spec in float64. Returns x * 127 / amax (the value before rounding).
double exact_ratio(double x, double amax) { return x * 127.0 / amax; }

TEST(KvQuant, MatchesFloat64SpecOnRandomHeads) {
  int flips = 0, total = 0;
  for (size_t n : {1u, 7u, 64u, 128u}) {
    for (float magnitude : {1e-3f, 1.0f, 37.0f, 1e4f}) {
      for (uint32_t seed = 0; seed < 20; ++seed) {
        const auto x = random_head(n, seed * 131 + n, magnitude);
        const auto r = quantize(x);
        double amax = 0.0;
        for (float v : x) amax = std::max(amax, std::fabs(static_cast<double>(v)));
        // One correctly rounded fp32 division of an exact fp32 amax: exact.
        ASSERT_EQ(r.scale, static_cast<float>(amax / 127.0)) << "n=" << n << " seed=" << seed;
        for (size_t i = 0; i < n; ++i) {
          const double t = exact_ratio(x[i], amax);
          const double want = std::nearbyint(t);  // default rounding: nearest even
          ++total;
          ASSERT_GE(r.q[i], -127);
          ASSERT_LE(r.q[i], 127);
          if (r.q[i] == want) continue;
          // fp32 `x * (127/amax)` may land on the other side of a tie: one step, only there.
          ++flips;
          ASSERT_EQ(std::fabs(r.q[i] - want), 1.0) << "x=" << x[i] << " t=" << t;
          ASSERT_LT(std::fabs(std::fabs(t - std::trunc(t)) - 0.5), 1e-4) << "x=" << x[i] << " t=" << t;
        }
      }
    }
  }
  EXPECT_LT(flips, total / 1000 + 1) << flips << " of " << total;  // flips are rare
}

TEST(KvQuant, RoundTripErrorIsAtMostHalfAScale) {
  for (size_t n : {3u, 64u, 128u}) {
    for (uint32_t seed = 0; seed < 50; ++seed) {
      const auto x = random_head(n, seed + 1000, 2.5f);
      const auto r = quantize(x);
      std::vector<float> back(n);
      kv_dequantize_head(r.q.data(), r.scale, back.data(), static_cast<int32_t>(n));
      for (size_t i = 0; i < n; ++i) {
        // Exactly q * scale (one fp32 multiply)...
        ASSERT_EQ(back[i], static_cast<float>(r.q[i]) * r.scale);
        // ...within half a step of x; the 1e-5 covers fp32 rounding of 127/amax,
        // the product x * (127/amax) and q * scale.
        const double err = std::fabs(static_cast<double>(x[i]) - static_cast<double>(r.q[i]) * r.scale);
        ASSERT_LE(err, r.scale * (0.5 + 1e-5)) << "i=" << i << " x=" << x[i];
      }
    }
  }
}

TEST(KvQuant, AmaxElementMapsToPlusMinus127) {
  for (uint32_t seed = 0; seed < 50; ++seed) {
    auto x = random_head(64, seed + 2000, 1.0f);
    x[seed % 64] = (seed % 2 ? -1.0f : 1.0f) * (5.0f + seed);  // the unique max, either sign
    const auto r = quantize(x);
    const float amax = std::fabs(x[seed % 64]);
    EXPECT_EQ(r.q[seed % 64], seed % 2 ? -127 : 127);
    EXPECT_NEAR(127.0 * r.scale, amax, amax * std::numeric_limits<float>::epsilon());
  }
}

TEST(KvQuant, ZeroHeadStoresZeroScaleAndZeros) {
  for (float zero : {0.0f, -0.0f}) {
    const std::vector<float> x(64, zero);
    const auto r = quantize(x);
    EXPECT_EQ(r.scale, 0.0f);
    for (int8_t q : r.q) EXPECT_EQ(q, 0);
    std::vector<float> back(64, 1.0f);
    kv_dequantize_head(r.q.data(), r.scale, back.data(), 64);
    for (float v : back) EXPECT_EQ(v, 0.0f);
  }
}

TEST(KvQuant, TiesRoundToNearestEven) {
  // amax = 127 makes the factor exactly 1, so x itself is rounded.
  const std::vector<float> x = {127.0f, 2.5f, 3.5f, -2.5f, -3.5f, 0.5f, -0.5f, 1.5f, 125.5f, 126.5f, -126.5f};
  const std::vector<int> want = {127, 2, 4, -2, -4, 0, 0, 2, 126, 126, -126};
  const auto r = quantize(x);
  EXPECT_EQ(r.scale, 1.0f);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(r.q[i], want[i]) << "x=" << x[i];
  // amax = 63.5: factor exactly 2; 1.25 -> 2.5 -> 2, 0.75 -> 1.5 -> 2, -0.25 -> -0.5 -> 0.
  const auto h = quantize({63.5f, 1.25f, 0.75f, -0.25f});
  EXPECT_EQ(h.q[0], 127);
  EXPECT_EQ(h.q[1], 2);
  EXPECT_EQ(h.q[2], 2);
  EXPECT_EQ(h.q[3], 0);
}

TEST(KvQuant, NonFiniteInputStaysInRange) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    const auto r = quantize({1.0f, bad, -2.0f, 0.0f});
    EXPECT_FALSE(std::isfinite(r.scale)) << bad;  // visible downstream, like an fp16 inf/NaN
    for (int8_t q : r.q) {
      EXPECT_GE(q, -127);
      EXPECT_LE(q, 127);
    }
  }
}

TEST(KvQuant, RowsQuantizeEachHeadOnItsOwn) {
  const int rows = 3, heads = 4, hd = 64;
  auto x = random_head(static_cast<size_t>(rows) * heads * hd, 7, 1.0f);
  for (int h = 0; h < rows * heads; ++h)  // very different magnitudes per head
    for (int i = 0; i < hd; ++i) x[h * hd + i] *= std::pow(10.0f, static_cast<float>(h % 5) - 2.0f);
  std::vector<int8_t> q(x.size());
  std::vector<float> scales(rows * heads);
  kv_quantize_rows(x.data(), q.data(), scales.data(), rows, heads, hd);
  for (int h = 0; h < rows * heads; ++h) {
    const std::vector<float> head(x.begin() + h * hd, x.begin() + (h + 1) * hd);
    const auto r = quantize(head);
    EXPECT_EQ(scales[h], r.scale) << h;
    EXPECT_TRUE(std::equal(r.q.begin(), r.q.end(), q.begin() + h * hd)) << h;
  }
}

}  // namespace
}  // namespace loom::cpu
