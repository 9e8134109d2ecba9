#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "backends/common/sampling/philox.h"
#include "backends/common/sampling/sampler.h"

namespace loom::sampling {
namespace {

// Random123 tests/kat_vectors, the three "philox4x32 10" lines.
TEST(Philox, KnownAnswerVectors) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, UniformsAreInRangeAndRoughlyUniform) {
  int buckets[10] = {};
  for (uint64_t n = 0; n < 100000; ++n) {
    const double u = philox_uniform(42, n);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ++buckets[static_cast<int>(u * 10)];
  }
  for (int b : buckets) EXPECT_NEAR(b, 10000, 500);  // ~5 sigma
}

SamplingParams seeded(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  p.has_seed = true;
  return p;
}

TEST(Sampler, GreedyIsArgmaxAndDrawsNothing) {
  SamplingParams p = seeded(1);
  p.temperature = 0.0f;
  p.top_k = 3;  // ignored by greedy
  Sampler s(p);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> logits(1000);
    for (auto& l : logits) l = dist(rng);
    const auto want = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ASSERT_EQ(s.sample(logits), want);
  }
  std::vector<float> ties = {1.0f, 5.0f, 5.0f, -std::numeric_limits<float>::infinity()};
  EXPECT_EQ(s.sample(ties), 1);  // lowest id among equal maxima
  EXPECT_EQ(s.draws(), 0u);
}

TEST(Sampler, SeededIsReproducibleAndSeedsDiffer) {
  std::vector<float> base(50);
  for (size_t i = 0; i < base.size(); ++i) base[i] = std::sin(static_cast<float>(i)) * 2.0f;
  auto run = [&](uint64_t seed) {
    SamplingParams p = seeded(seed);
    p.top_k = 20;
    p.top_p = 0.95f;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      auto logits = base;
      out.push_back(s.sample(logits));
    }
    EXPECT_EQ(s.draws(), 64u);
    return out;
  };
  EXPECT_EQ(run(1234), run(1234));
  EXPECT_NE(run(1234), run(1235));
}

// Expected distribution, computed from the definitions: sort by logit, keep the
// top k, then the smallest prefix with mass >= top_p (at T = 1), then tokens
// with p >= min_p * p_max, then softmax(logit / T) over what is left.
std::vector<double> expected_probs(const std::vector<float>& logits, const SamplingParams& p) {
  const size_t n = logits.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  size_t keep = (p.top_k > 0 && static_cast<size_t>(p.top_k) < n) ? p.top_k : n;
  auto softmax_of = [&](size_t count, double temp) {
    std::vector<double> w(count);
    double total = 0.0;
    for (size_t i = 0; i < count; ++i) total += w[i] = std::exp(logits[order[i]] / temp);
    for (auto& x : w) x /= total;
    return w;
  };
  if (p.top_p < 1.0f) {
    const auto w = softmax_of(keep, 1.0);
    double cum = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      cum += w[i];
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (p.min_p > 0.0f) {
    const auto w = softmax_of(keep, 1.0);
    size_t i = 0;
    while (i < keep && w[i] >= p.min_p * w[0]) ++i;
    keep = i;
  }
  const auto w = softmax_of(keep, p.temperature);
  std::vector<double> probs(n, 0.0);
  for (size_t i = 0; i < keep; ++i) probs[order[i]] = w[i];
  return probs;
}

// Chi-square critical value at significance 1e-3 (Wilson-Hilferty).
double chi2_critical(int df) {
  const double z = 3.09;
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3);
}

void check_distribution(SamplingParams p, const char* name) {
  SCOPED_TRACE(name);
  const std::vector<float> logits = {2.0f, 1.5f, 1.2f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, -2.0f, -3.0f};
  const auto want = expected_probs(logits, p);
  p.seed = 20240611;
  p.has_seed = true;
  Sampler s(p);
  const int n_draws = 20000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n_draws; ++i) {
    auto l = logits;
    ++counts.at(s.sample(l));
  }
  double chi2 = 0.0;
  int kept = 0;
  for (size_t t = 0; t < logits.size(); ++t) {
    if (want[t] == 0.0) {
      EXPECT_EQ(counts[t], 0) << "token " << t << " should have been filtered out";
      continue;
    }
    ++kept;
    const double e = n_draws * want[t];
    chi2 += (counts[t] - e) * (counts[t] - e) / e;
  }
  ASSERT_GE(kept, 2) << "the case should leave a real distribution";
  EXPECT_LT(chi2, chi2_critical(kept - 1)) << "kept " << kept;
}

TEST(Sampler, DistributionsMatchTheTruncatedSoftmax) {
  SamplingParams p;
  p.temperature = 0.7f;
  check_distribution(p, "temperature 0.7");
  p = {};
  p.temperature = 1.6f;
  check_distribution(p, "temperature 1.6");
  p = {};
  p.top_k = 4;
  check_distribution(p, "top_k 4");
  p = {};
  p.top_p = 0.8f;
  check_distribution(p, "top_p 0.8");
  p = {};
  p.min_p = 0.2f;
  check_distribution(p, "min_p 0.2");
  p = {};
  p.top_k = 7;
  p.top_p = 0.9f;
  p.min_p = 0.1f;
  p.temperature = 1.3f;
  check_distribution(p, "all four");
}

// A vocabulary large enough for the partial-sort path of top-p, flat enough
// that the best 256 tokens do not reach the mass and the full sort kicks in.
TEST(Sampler, TopPOnALargeVocabulary) {
  for (float slope : {0.001f, 0.05f}) {
    std::vector<float> logits(5000);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = -slope * static_cast<float>(i);
    SamplingParams p = seeded(77);
    p.top_p = 0.6f;
    const auto want = expected_probs(logits, p);
    size_t support = 0;
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (want[i] > 0) support = i + 1;
      mean += i * want[i];
    }
    for (size_t i = 0; i < want.size(); ++i) var += (i - mean) * (i - mean) * want[i];
    Sampler s(p);
    const int n = 4000;
    double got_mean = 0.0;
    for (int d = 0; d < n; ++d) {
      auto l = logits;
      const int32_t t = s.sample(l);
      ASSERT_LT(static_cast<size_t>(t), support) << "slope " << slope;
      got_mean += t;
    }
    got_mean /= n;
    EXPECT_NEAR(got_mean, mean, 5 * std::sqrt(var / n)) << "slope " << slope << " support " << support;
  }
}

TEST(Sampler, PenaltiesFollowLlamaCppAndOpenAi) {
  SamplingParams p = seeded(0);
  p.temperature = 0.0f;
  p.repetition_penalty = 1.5f;
  p.presence_penalty = 0.3f;
  p.frequency_penalty = 0.2f;
  p.penalty_last_n = 64;
  Sampler s(p);
  for (int32_t t : {0, 0, 1, 3, 3, 3, 99, -1}) s.accept(t);  // out-of-vocab ids are ignored
  std::vector<float> logits = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
  const int32_t token = s.sample(logits);
  EXPECT_NEAR(logits[0], 2.0f / 1.5f - (2 * 0.2f + 0.3f), 1e-6);   // positive: divided
  EXPECT_NEAR(logits[1], -1.0f * 1.5f - (1 * 0.2f + 0.3f), 1e-6);  // negative: multiplied
  EXPECT_EQ(logits[2], 0.5f);                                      // unseen: untouched
  EXPECT_NEAR(logits[3], 3.0f / 1.5f - (3 * 0.2f + 0.3f), 1e-6);
  EXPECT_EQ(logits[4], -2.0f);
  EXPECT_EQ(token, 3);  // 1.1 still beats 0.633 and 0.5

  // The sampled token joins the history: 3 now has count 4.
  std::vector<float> again = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f};
  s.sample(again);
  EXPECT_NEAR(again[3], 3.0f / 1.5f - (4 * 0.2f + 0.3f), 1e-6);
}

TEST(Sampler, PenaltyWindowIsTheLastNTokens) {
  SamplingParams p = seeded(0);
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  p.penalty_last_n = 2;
  Sampler s(p);
  for (int32_t t : {0, 1, 2}) s.accept(t);  // only 1 and 2 remain in the window
  std::vector<float> logits = {4.0f, 4.0f, -4.0f, 1.0f};
  s.sample(logits);
  EXPECT_EQ(logits[0], 4.0f);
  EXPECT_EQ(logits[1], 2.0f);
  EXPECT_EQ(logits[2], -8.0f);
}

TEST(Sampler, LogprobsAreLogSoftmaxOfRawLogits) {
  SamplingParams p = seeded(5);
  p.temperature = 0.0f;
  p.top_logprobs = 3;
  p.repetition_penalty = 3.0f;
  Sampler s(p);
  s.accept(4);  // penalizes token 4 for sampling, not for the reported logprobs
  const std::vector<float> raw = {0.1f, 2.0f, -1.0f, 1.5f, 3.0f, 0.0f};
  double z = 0.0;
  for (float l : raw) z += std::exp(static_cast<double>(l));
  auto lp = [&](int t) { return raw[t] - std::log(z); };
  auto logits = raw;
  const SampleResult r = s.sample_with_logprobs(logits);
  EXPECT_EQ(r.token, 1);  // 3.0 / 3 = 1.0 < 2.0
  EXPECT_NEAR(r.logprob, lp(1), 1e-6);
  ASSERT_EQ(r.top.size(), 3u);
  EXPECT_EQ(r.top[0].token, 4);
  EXPECT_EQ(r.top[1].token, 1);
  EXPECT_EQ(r.top[2].token, 3);
  for (const auto& t : r.top) EXPECT_NEAR(t.logprob, lp(t.token), 1e-6);
}

TEST(Sampler, RejectsRowsWithNothingToSample) {
  Sampler s(seeded(1));
  std::vector<float> empty;
  EXPECT_THROW(s.sample(empty), std::domain_error);
  std::vector<float> masked(4, -std::numeric_limits<float>::infinity());
  EXPECT_THROW(s.sample(masked), std::domain_error);
  std::vector<float> nans(4, std::numeric_limits<float>::quiet_NaN());
  EXPECT_THROW(s.sample(nans), std::domain_error);
  // Masked entries are never drawn.
  std::vector<float> one = {-INFINITY, 0.0f, -INFINITY};
  for (int i = 0; i < 20; ++i) {
    auto l = one;
    EXPECT_EQ(s.sample(l), 1);
  }
}

}  // namespace
}  // namespace loom::sampling
