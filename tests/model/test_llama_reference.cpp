// The CPU forward pass against llama.cpp on the same GGUF file, SmolLM2 and
// Gemma 3 (fixtures from tests/reference/make_model_fixtures.py): teacher-forced logits, perplexity
// and greedy continuations, judged by the strict figures: top-1 agreement at
// >= 99% of positions, the reference's top-20 logits within 0.1 at >= 99% of
// positions, perplexity within 1%, and no greedy divergence before token 32
// unless llama.cpp's top two logits there are within 0.05.
//
// Those figures need llama.cpp's arithmetic order, not just correct math: the
// int8 activation quantization before every matmul turns last-bit
// differences into whole quantization steps (two correct orders of the same
// sums agree on only ~96% of top-1 tokens here, as the fixture's flash-
// attention variant of llama.cpp itself shows). Loom's fp16-KV path follows
// ggml's order (kernels/cpu/ggml_compat.h), so its logits equal the
// fixture's on every ISA (LOOM_ISA=scalar|avx2|avx512).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tests/model/model_test_env.h"
#include "tests/model/reference_fixture.h"

namespace loom::test {
namespace {

const ModelReference& smollm2_reference() {
  static const ModelReference ref = load_model_reference("smollm2");
  return ref;
}

const ModelReference& gemma3_reference() {
  static const ModelReference ref = load_model_reference("gemma3");
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

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1))];
}

void expect_teacher_forced_match(CpuModel* model, const ModelReference& reference) {
  const int64_t n_vocab = model->config().n_vocab;
  ASSERT_GE(reference.texts.size(), 5u);
  ASSERT_EQ(reference.variant.size(), reference.texts.size());
  for (size_t t = 0; t < reference.texts.size(); ++t) {
    const auto& text = reference.texts[t];
    const auto& noise = reference.variant[t];
    ASSERT_GE(text.tokens.size(), 200u);
    SingleSequence seq(*model);
    const std::vector<float> logits = seq.feed(text.tokens, LogitsWanted::kAll);
    int top1_agree = 0, top20_close = 0;
    double nll_ours = 0, nll_ref = 0;
    int nll_count = 0;
    std::vector<double> diffs;
    for (size_t i = 0; i < text.positions.size(); ++i) {
      const float* row = &logits[i * n_vocab];
      const auto& ref = text.positions[i];
      top1_agree += argmax(row, n_vocab) == ref.top_ids[0];
      double max_diff = 0;
      for (size_t k = 0; k < ref.top_ids.size(); ++k)
        max_diff = std::max<double>(max_diff, std::fabs(row[ref.top_ids[k]] - ref.top_logits[k]));
      diffs.push_back(max_diff);
      top20_close += max_diff <= 0.1;
      if (ref.next_nll >= 0) {
        nll_ours -= log_softmax_at(row, n_vocab, text.tokens[i + 1]);
        nll_ref += ref.next_nll;
        ++nll_count;
      }
    }
    const double n = static_cast<double>(text.positions.size());
    const double ppl_ours = std::exp(nll_ours / nll_count), ppl_ref = std::exp(nll_ref / nll_count);
    const double p50 = percentile(diffs, 0.5), p99 = percentile(diffs, 0.99);
    std::printf("text %zu (%zu tokens): top-1 agreement %.2f%% (llama.cpp flash-attn vs default: %.2f%%); "
                "top-20 |diff| p50 %.3f p99 %.3f max %.1e (llama.cpp variant: %.3f, %.3f); within 0.1 at %.1f%%; "
                "perplexity %.4f vs %.4f (%+.2f%%)\n",
                t, text.tokens.size(), 100 * top1_agree / n, 100 * noise.top1_agreement, p50, p99, percentile(diffs, 1.0),
                noise.top20_max_diff_p50, noise.top20_max_diff_p99, 100 * top20_close / n, ppl_ours, ppl_ref,
                100 * (ppl_ours / ppl_ref - 1));
    EXPECT_GE(top1_agree / n, 0.99) << "text " << t;
    EXPECT_GE(top20_close / n, 0.99) << "text " << t;
    EXPECT_NEAR(ppl_ours / ppl_ref, 1.0, 0.01) << "text " << t;
  }
}

void expect_greedy_match(CpuModel* model, const ModelReference& reference) {
  const int64_t n_vocab = model->config().n_vocab;
  ASSERT_GE(reference.greedy.size(), 8u);
  const double tie = 0.05;  // a top-2 gap this small is a near-tie
  int full_matches = 0;
  for (size_t c = 0; c < reference.greedy.size(); ++c) {
    const auto& ref = reference.greedy[c];
    SingleSequence seq(*model);
    std::vector<float> logits = seq.feed(ref.prompt_tokens);
    size_t matched = 0;
    while (matched < ref.tokens.size()) {
      const int32_t id = argmax(logits.data(), n_vocab);
      if (id != ref.tokens[matched]) break;
      ++matched;
      logits = seq.feed(std::span<const int32_t>(&id, 1));
    }
    full_matches += matched == ref.tokens.size();
    std::printf("greedy case %zu (%s): %zu of %zu tokens match before the first divergence", c, ref.kind.c_str(),
                matched, ref.tokens.size());
    if (matched < ref.tokens.size())
      std::printf(" (llama.cpp's top-2 gap there: %.3f)", ref.top2[matched].first - ref.top2[matched].second);
    std::printf("\n");
    if (matched < 32) {
      const auto [best, second] = ref.top2[matched];
      EXPECT_LE(best - second, tie) << "case " << c << " diverged at token " << matched
                                    << " where llama.cpp's top two logits (" << best << ", " << second
                                    << ") are further apart than " << tie;
    }
  }
  EXPECT_GE(full_matches, 1) << "no greedy continuation matched llama.cpp's all the way";
}

TEST(LlamaReference, TeacherForcedLogitsMatchLlamaCpp) {
  LOOM_REQUIRE_MODEL(model);
  expect_teacher_forced_match(model, smollm2_reference());
}

TEST(LlamaReference, GreedyContinuationsMatchLlamaCpp) {
  LOOM_REQUIRE_MODEL(model);
  expect_greedy_match(model, smollm2_reference());
}

// Gemma 3 270M (Q5_0/Q8_0/Q4_K/Q6_K weights, sliding-window layers, QK-norm,
// GeGLU), held to the same bar as SmolLM2. Its K-quant matmuls only reach
// llama.cpp's bits because the kernels follow the order llama.cpp picks by
// batch size (kernels/cpu/vec_dot.h, batch_dots): the texts are prefilled
// whole (215-944 tokens: repacked Q4_K GEMM plus GEMV for the last n % 4
// tokens, tiled Q6_K), the greedy steps one token at a time (GEMV, vec_dot).
// The sixth text is longer than the 512-key window.
TEST(Gemma3Reference, TeacherForcedLogitsMatchLlamaCpp) {
  LOOM_REQUIRE_GEMMA_MODEL(model);
  ASSERT_GT(gemma3_reference().texts.back().tokens.size(), static_cast<size_t>(model->config().sliding_window));
  expect_teacher_forced_match(model, gemma3_reference());
}

TEST(Gemma3Reference, GreedyContinuationsMatchLlamaCpp) {
  LOOM_REQUIRE_GEMMA_MODEL(model);
  expect_greedy_match(model, gemma3_reference());
}

}  // namespace
}  // namespace loom::test
