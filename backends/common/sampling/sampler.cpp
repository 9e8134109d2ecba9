#include "backends/common/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "backends/common/sampling/philox.h"

namespace loom::sampling {

namespace {

struct Candidate {
  int32_t id;
  float logit;
};

// Descending logit, ties broken by lower id so results never depend on sort internals.
bool higher(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

int32_t argmax(std::span<const float> logits) {
  int32_t best = -1;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) continue;
    if (best < 0 || logits[i] > logits[best]) best = static_cast<int32_t>(i);
  }
  if (best < 0 || logits[best] == -std::numeric_limits<float>::infinity()) {
    throw std::domain_error("sampling: no finite logits to sample from");
  }
  return best;
}

void keep_top_k(std::vector<Candidate>& c, int32_t k, bool& sorted) {
  if (k <= 0 || static_cast<size_t>(k) >= c.size()) return;
  std::partial_sort(c.begin(), c.begin() + k, c.end(), higher);
  c.resize(k);
  sorted = true;
}

// Smallest prefix (by descending probability at temperature 1) whose mass
// reaches p. Large unsorted vocabularies sort only the best 256 first and fall
// back to a full sort when those do not reach p (as llama.cpp does).
void keep_top_p(std::vector<Candidate>& c, float p, bool& sorted) {
  if (p >= 1.0f) return;
  size_t n_sorted = c.size();
  if (!sorted && c.size() > 1024) {
    n_sorted = 256;
    std::partial_sort(c.begin(), c.begin() + n_sorted, c.end(), higher);
  } else if (!sorted) {
    std::sort(c.begin(), c.end(), higher);
  }
  const double max = c.front().logit;
  double total = 0.0;
  for (const auto& x : c) total += std::exp(static_cast<double>(x.logit) - max);
  double cum = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (i == n_sorted) std::sort(c.begin() + i, c.end(), higher);
    cum += std::exp(static_cast<double>(c[i].logit) - max) / total;
    if (cum >= p) {
      c.resize(i + 1);
      break;
    }
  }
  sorted = true;
}

// Keeps p_i >= min_p * p_max, i.e. logit_i >= max_logit + log(min_p).
void keep_min_p(std::vector<Candidate>& c, float min_p) {
  if (min_p <= 0.0f) return;
  float max = -std::numeric_limits<float>::infinity();
  for (const auto& x : c) max = std::max(max, x.logit);
  const float threshold = max + std::log(min_p);
  std::erase_if(c, [&](const Candidate& x) { return x.logit < threshold; });
}

// Inverse-CDF draw from softmax(logit / temperature) over the candidates.
int32_t draw(const std::vector<Candidate>& c, float temperature, double u) {
  float max = -std::numeric_limits<float>::infinity();
  for (const auto& x : c) max = std::max(max, x.logit);
  std::vector<double> w(c.size());
  double total = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    w[i] = std::exp((static_cast<double>(c[i].logit) - max) / temperature);
    total += w[i];
  }
  const double target = u * total;
  double cum = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    cum += w[i];
    if (target < cum) return c[i].id;
  }
  return c.back().id;  // u*total rounding past the last bucket
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  if (auto err = validate(params)) throw std::invalid_argument("sampling: " + *err);
  if (params.has_seed) {
    seed_ = params.seed;
  } else {
    std::random_device rd;
    seed_ = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
}

void Sampler::accept(int32_t token) {
  if (params_.penalty_last_n == 0) return;
  history_.push_back(token);
  while (history_.size() > static_cast<size_t>(params_.penalty_last_n)) history_.pop_front();
}

// llama.cpp semantics: for each token seen `count` times in the window,
// logit = logit > 0 ? logit / rep : logit * rep; then
// logit -= count * frequency_penalty + presence_penalty.
void Sampler::apply_penalties(std::span<float> logits) const {
  const bool active = params_.repetition_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                      params_.frequency_penalty != 0.0f;
  if (!active || history_.empty()) return;
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t t : history_) {
    if (t >= 0 && static_cast<size_t>(t) < logits.size()) ++counts[t];
  }
  for (const auto& [token, count] : counts) {
    float& l = logits[token];
    l = l <= 0.0f ? l * params_.repetition_penalty : l / params_.repetition_penalty;
    l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

int32_t Sampler::choose(std::span<const float> logits) {
  if (logits.empty()) throw std::domain_error("sampling: empty logits");
  const int32_t best = argmax(logits);  // also rejects all -inf/NaN rows
  if (params_.temperature == 0.0f || std::isinf(logits[best])) return best;

  std::vector<Candidate> c;
  c.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > -std::numeric_limits<float>::infinity()) c.push_back({static_cast<int32_t>(i), logits[i]});
  }
  bool sorted = false;
  keep_top_k(c, params_.top_k, sorted);
  keep_top_p(c, params_.top_p, sorted);
  keep_min_p(c, params_.min_p);
  return draw(c, params_.temperature, philox_uniform(seed_, draws_++));
}

int32_t Sampler::sample(std::span<float> logits) {
  apply_penalties(logits);
  const int32_t token = choose(logits);
  accept(token);
  return token;
}

SampleResult Sampler::sample_with_logprobs(std::span<float> logits) {
  if (logits.empty()) throw std::domain_error("sampling: empty logits");
  // Log-softmax of the raw logits, taken before penalties touch them.
  float max = -std::numeric_limits<float>::infinity();
  for (float l : logits) max = std::max(max, l);
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
  const double log_z = max + std::log(sum);
  auto logprob = [&](float l) { return static_cast<float>(static_cast<double>(l) - log_z); };

  std::vector<Candidate> top;
  const size_t n_top = std::min<size_t>(params_.top_logprobs, logits.size());
  if (n_top > 0) {
    std::vector<Candidate> all(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) all[i] = {static_cast<int32_t>(i), logits[i]};
    std::partial_sort(all.begin(), all.begin() + n_top, all.end(), higher);
    top.assign(all.begin(), all.begin() + n_top);
  }
  SampleResult r;
  for (const auto& t : top) r.top.push_back({t.id, logprob(t.logit)});
  const std::vector<float> raw(logits.begin(), logits.end());
  r.token = sample(logits);
  r.logprob = logprob(raw[r.token]);
  return r;
}

}  // namespace loom::sampling
