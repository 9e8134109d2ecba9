// Helpers for the model-op tests: seeded random inputs and error measures.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace loom::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// max_i |a_i - b_i| / (atol + rtol * |b_i|); <= 1 means within tolerance.
inline double worst_error(const std::vector<float>& a, const std::vector<double>& b, double atol,
                          double rtol) {
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::abs(static_cast<double>(a[i]) - b[i]) / (atol + rtol * std::abs(b[i]));
    if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
  }
  return worst;
}

}  // namespace loom::test
