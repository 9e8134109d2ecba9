// The CPU forward pass against llama.cpp on the same GGUF file (fixtures from
// tests/reference/make_model_fixtures.py): teacher-forced logits, perplexity
// and greedy continuations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tests/model/model_test_env.h"
#include "tests/model/reference_fixture.h"

namespace loom::test {
namespace {

const ModelReference& reference() {
  static const ModelReference ref = load_model_reference();
  return ref;
}

double log_softmax_at(const float* row, int64_t n, int32_t id) {
  double max = row[0];
  for (int64_t i = 1; i < n; ++i) max = std::max<double>(max, row[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(row[i] - max);
  return row[id] - max - std::log(sum);
}

int32_t argmax(const float* row, int64_t n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

TEST(LlamaReference, TeacherForcedLogitsMatchLlamaCpp) {
  LOOM_REQUIRE_MODEL(model);
  const int64_t n_vocab = model->config().n_vocab;
  ASSERT_GE(reference().texts.size(), 5u);
  for (size_t t = 0; t < reference().texts.size(); ++t) {
    const auto& text = reference().texts[t];
    ASSERT_GE(text.tokens.size(), 200u);
    SingleSequence seq(*model);
    const std::vector<float> logits = seq.feed(text.tokens, LogitsWanted::kAll);
    int top1_agree = 0, top20_close = 0;
    double nll_ours = 0, nll_ref = 0, worst = 0;
    int nll_count = 0;
    for (size_t i = 0; i < text.positions.size(); ++i) {
      const float* row = &logits[i * n_vocab];
      const auto& ref = text.positions[i];
      top1_agree += argmax(row, n_vocab) == ref.top_ids[0];
      double max_diff = 0;
      for (size_t k = 0; k < ref.top_ids.size(); ++k)
        max_diff = std::max<double>(max_diff, std::fabs(row[ref.top_ids[k]] - ref.top_logits[k]));
      worst = std::max(worst, max_diff);
      top20_close += max_diff <= 0.1;
      if (ref.next_nll >= 0) {
        nll_ours -= log_softmax_at(row, n_vocab, text.tokens[i + 1]);
        nll_ref += ref.next_nll;
        ++nll_count;
      }
    }
    const double n = static_cast<double>(text.positions.size());
    const double ppl_ours = std::exp(nll_ours / nll_count), ppl_ref = std::exp(nll_ref / nll_count);
    std::printf("text %zu: %zu tokens, top-1 agreement %.2f%%, top-20 within 0.1 at %.2f%% "
                "(worst %.4f), perplexity %.4f vs llama.cpp %.4f\n",
                t, text.tokens.size(), 100 * top1_agree / n, 100 * top20_close / n, worst, ppl_ours,
                ppl_ref);
    EXPECT_GE(top1_agree / n, 0.99) << "text " << t;
    EXPECT_GE(top20_close / n, 0.99) << "text " << t;
    EXPECT_NEAR(ppl_ours / ppl_ref, 1.0, 0.01) << "text " << t;
  }
}

TEST(LlamaReference, GreedyContinuationsMatchLlamaCpp) {
  LOOM_REQUIRE_MODEL(model);
  const int64_t n_vocab = model->config().n_vocab;
  ASSERT_GE(reference().greedy.size(), 8u);
  for (size_t c = 0; c < reference().greedy.size(); ++c) {
    const auto& ref = reference().greedy[c];
    SingleSequence seq(*model);
    std::vector<float> logits = seq.feed(ref.prompt_tokens);
    size_t matched = 0;
    while (matched < ref.tokens.size()) {
      const int32_t id = argmax(logits.data(), n_vocab);
      if (id != ref.tokens[matched]) break;
      ++matched;
      logits = seq.feed(std::span<const int32_t>(&id, 1));
    }
    std::printf("greedy case %zu (%s): %zu of %zu tokens match before the first divergence\n", c,
                ref.kind.c_str(), matched, ref.tokens.size());
    if (matched < 32) {
      const auto [best, second] = ref.top2[matched];
      EXPECT_LE(best - second, 0.05f)
          << "case " << c << " diverged at token " << matched
          << " where llama.cpp's top two logits are not a near-tie (" << best << " vs " << second << ")";
    }
  }
}

}  // namespace
}  // namespace loom::test
