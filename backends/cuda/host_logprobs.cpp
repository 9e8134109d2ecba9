#include "backends/cuda/host_logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace loom::cuda_backend {

void host_logprobs(std::span<const float> raw, int32_t token, int32_t n_top, sampling::SampleResult& out) {
  float max = -std::numeric_limits<float>::infinity();
  for (float l : raw) max = std::max(max, l);
  double sum = 0.0;
  for (float l : raw) sum += std::exp(static_cast<double>(l) - max);
  const double log_z = max + std::log(sum);
  auto logprob = [&](float l) { return static_cast<float>(static_cast<double>(l) - log_z); };
  const size_t n = std::min<size_t>(static_cast<size_t>(std::max(n_top, 0)), raw.size());
  std::vector<int32_t> ids(raw.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return raw[a] > raw[b] || (raw[a] == raw[b] && a < b);
  });
  out.top.clear();
  for (size_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob(raw[ids[i]])});
  out.logprob = token >= 0 && static_cast<size_t>(token) < raw.size() ? logprob(raw[token]) : 0.0f;
}

}  // namespace loom::cuda_backend
