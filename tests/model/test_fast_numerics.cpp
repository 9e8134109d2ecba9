// The accuracy gate of "numerics": "fast" (repacked weights, int8
// activations with fp32 scales, reordered sums; kernels/cpu/fast_matmul.h)
// against "exact" (llama.cpp's order) on SmolLM2 and the llama.cpp fixture
// texts and prompts.
//
// Issue 16 asked for top-1 agreement >= 99%, perplexity within 0.5% and
// greedy outputs equal for 32 tokens unless the top-2 gap is < 0.05. The
// perplexity figure holds; the other two cannot hold for any change of
// summation order on this model: activations are re-quantized to int8 before
// every matmul, so a last-bit difference flips a rounding and the flips
// compound through 30 layers. llama.cpp against itself with only its
// attention precision changed (the fixture's flash-attention variant) agrees
// on 95.0-97.8% of top-1 tokens per text and moves logits by a median 0.28.
// Measured here (AVX-512; printed by the test):
//   top-1 agreement per text 97.3, 97.5, 94.5, 95.3, 98.8% (96.8% overall);
//   perplexity per text -0.47, -0.20, +0.51, -0.16, +1.45% (+0.23% overall);
//   greedy: 2 of 8 prompts equal for 32 tokens, the rest diverge at tokens
//   8-19 where exact's top-2 gap is 0.03-0.25 (one below 0.05).
// Asserted, as tests/model/test_llama_reference.cpp's "sum-order noise" bar:
// top-1 agreement per text at most 4 points below the llama.cpp variant's
// (overall at most 2 below its mean), perplexity within 0.5% overall and 2%
// per text, greedy divergences within 32 tokens only where exact's top-2 gap
// is below the variant's median logit movement. A real kernel bug (a wrong
// scale, row or block) breaks all of these by far more. Because the issue's
// top-1/greedy gate is not met, "exact" stays the default.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "tests/model/model_test_env.h"
#include "tests/model/reference_fixture.h"

namespace loom::test {
namespace {

constexpr double kTop1BelowVariantPerText = 0.04;
constexpr double kTop1BelowVariantOverall = 0.02;
constexpr double kMaxPerplexityChange = 0.005;         // overall, relative, either sign
constexpr double kMaxPerplexityChangePerText = 0.02;
constexpr size_t kGreedyTokens = 32;
constexpr double kIssueTop1 = 0.99;  // issue 16's figures, printed beside ours
constexpr float kIssueNearTie = 0.05f;

const ModelReference& reference(const std::string& name = "smollm2") {
  static const ModelReference smollm2 = load_model_reference("smollm2");
  if (name == "smollm2") return smollm2;
  static const ModelReference gemma3 = load_model_reference("gemma3");
  return gemma3;
}

std::unique_ptr<CpuModel> load_fast(const std::string& path) {
  if (!std::filesystem::exists(path)) return nullptr;
  CpuModelOptions options;
  options.max_context = 2048;
  options.numerics = Numerics::kFast;
  return CpuModel::load(path, options);
}

CpuModel* fast_model() {
  static std::unique_ptr<CpuModel> model = load_fast(model_path());
  return model.get();
}

CpuModel* fast_gemma_model() {
  static std::unique_ptr<CpuModel> model = load_fast(gemma_model_path());
  return model.get();
}

double nll_at(const float* row, int64_t n, int32_t id) {
  double max = row[0];
  for (int64_t i = 1; i < n; ++i) max = std::max<double>(max, row[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(row[i] - max);
  return std::log(sum) + max - row[id];
}

int32_t argmax(const float* row, int64_t n) { return static_cast<int32_t>(std::max_element(row, row + n) - row); }

struct Greedy {
  std::vector<int32_t> tokens;
  std::vector<float> gaps;  // top-2 logit gap at each step
};

Greedy greedy(CpuModel& model, const std::vector<int32_t>& prompt, size_t n) {
  SingleSequence seq(model);
  std::vector<float> logits = seq.feed(prompt);
  Greedy g;
  while (g.tokens.size() < n) {
    std::vector<float> sorted(logits);
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<>());
    const int32_t id = argmax(logits.data(), static_cast<int64_t>(logits.size()));
    g.tokens.push_back(id);
    g.gaps.push_back(sorted[0] - sorted[1]);
    if (g.tokens.size() < n) logits = seq.feed(std::span<const int32_t>(&id, 1));
  }
  return g;
}

TEST(FastNumerics, ModelsReportTheirMode) {
  LOOM_REQUIRE_MODEL(exact);
  CpuModel* fast = fast_model();
  ASSERT_NE(fast, nullptr);
  EXPECT_EQ(exact->numerics(), Numerics::kExact);
  EXPECT_EQ(fast->numerics(), Numerics::kFast);
  EXPECT_EQ(exact->packed_bytes(), 0u);
  EXPECT_GT(fast->packed_bytes(), exact->weight_bytes() / 2);  // every SmolLM2 matrix is Q4_1 or Q8_0
}

void check_teacher_forced(CpuModel* exact, CpuModel* fast, const ModelReference& ref, double max_ppl_change) {
  ASSERT_NE(fast, nullptr);
  const int64_t n_vocab = exact->config().n_vocab;
  int64_t positions = 0, agree = 0, predictions = 0;
  double nll_exact = 0, nll_fast = 0, variant_mean = 0;
  for (size_t t = 0; t < ref.texts.size(); ++t) {
    const auto& tokens = ref.texts[t].tokens;
    SingleSequence se(*exact), sf(*fast);
    const std::vector<float> le = se.feed(tokens, LogitsWanted::kAll), lf = sf.feed(tokens, LogitsWanted::kAll);
    int64_t text_agree = 0;
    double te = 0, tf = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      text_agree += argmax(&le[i * n_vocab], n_vocab) == argmax(&lf[i * n_vocab], n_vocab);
      if (i + 1 < tokens.size()) {
        te += nll_at(&le[i * n_vocab], n_vocab, tokens[i + 1]);
        tf += nll_at(&lf[i * n_vocab], n_vocab, tokens[i + 1]);
      }
    }
    const auto n = static_cast<double>(tokens.size() - 1);
    std::printf("text %zu (%zu tokens): top-1 agreement %.2f%% (llama.cpp flash-attn vs default %.2f%%), perplexity exact %.4f, fast %.4f (%+.3f%%)\n", t,
                tokens.size(), 100.0 * text_agree / tokens.size(), 100 * ref.variant[t].top1_agreement, std::exp(te / n), std::exp(tf / n),
                100 * (std::exp((tf - te) / n) - 1));
    const double variant = ref.variant[t].top1_agreement;
    EXPECT_GE(static_cast<double>(text_agree) / tokens.size(), variant - kTop1BelowVariantPerText) << "text " << t;
    EXPECT_LE(std::fabs(std::exp((tf - te) / n) - 1), kMaxPerplexityChangePerText) << "text " << t;
    variant_mean += variant / ref.texts.size();
    positions += static_cast<int64_t>(tokens.size());
    agree += text_agree;
    nll_exact += te;
    nll_fast += tf;
    predictions += static_cast<int64_t>(n);
  }
  const double agreement = static_cast<double>(agree) / positions;
  const double ppl_e = std::exp(nll_exact / predictions), ppl_f = std::exp(nll_fast / predictions);
  std::printf("all texts: top-1 agreement %.2f%% of %lld positions; perplexity exact %.4f, fast %.4f (%+.3f%%)\n",
              100 * agreement, static_cast<long long>(positions), ppl_e, ppl_f, 100 * (ppl_f / ppl_e - 1));
  std::printf("issue 16's top-1 figure (%.0f%%): %s\n", 100 * kIssueTop1, agreement >= kIssueTop1 ? "met" : "not met");
  EXPECT_GE(agreement, variant_mean - kTop1BelowVariantOverall);
  EXPECT_LE(std::fabs(ppl_f / ppl_e - 1), max_ppl_change);
}

TEST(FastNumerics, TopOneAgreementAndPerplexityMatchExact) {
  LOOM_REQUIRE_MODEL(exact);
  check_teacher_forced(exact, fast_model(), reference(), kMaxPerplexityChange);
}

// Gemma 3's Q4_K/Q6_K matrices keep the exact kernels; its Q8_0 matrices
// (the 262144-row output) take the fast ones. Measured: top-1 agreement
// 92.1-96.3% per text (95.4% overall; llama.cpp's variant 92.6-96.8%),
// perplexity -1.2% .. +0.5% per text, -0.54% overall (lower: the fp32
// activation scales), so the bar there is the 1% of test_llama_reference's
// sum-order-noise bar.
TEST(FastNumerics, Gemma3TopOneAgreementAndPerplexityMatchExact) {
  LOOM_REQUIRE_GEMMA_MODEL(exact);
  CpuModel* fast = fast_gemma_model();
  ASSERT_NE(fast, nullptr);
  EXPECT_GT(fast->packed_bytes(), 0u);
  check_teacher_forced(exact, fast, reference("gemma3"), 0.01);
}

TEST(FastNumerics, GreedyOutputsMatchExactUpToNearTies) {
  LOOM_REQUIRE_MODEL(exact);
  CpuModel* fast = fast_model();
  ASSERT_NE(fast, nullptr);
  ASSERT_GE(reference().greedy.size(), 1u);
  double noise = 1e9;  // the variant's median top-20 logit movement, lowest text
  for (const auto& v : reference().variant) noise = std::min(noise, v.top20_max_diff_p50);
  size_t issue_ok = 0;
  for (size_t c = 0; c < reference().greedy.size(); ++c) {
    const auto& prompt = reference().greedy[c].prompt_tokens;
    const Greedy a = greedy(*exact, prompt, kGreedyTokens), b = greedy(*fast, prompt, kGreedyTokens);
    size_t same = 0;
    while (same < kGreedyTokens && a.tokens[same] == b.tokens[same]) ++same;
    std::printf("greedy case %zu: exact and fast agree on %zu of %zu tokens", c, same, kGreedyTokens);
    if (same < kGreedyTokens) std::printf(" (exact top-2 gap at the divergence: %.3f)", a.gaps[same]);
    std::printf("\n");
    issue_ok += same == kGreedyTokens || a.gaps[same] < kIssueNearTie;
    if (same < kGreedyTokens) {
      EXPECT_LT(a.gaps[same], noise) << "case " << c << " diverged at token " << same
                                     << " where exact's top-2 gap is above the sum-order noise";
    }
  }
  std::printf("issue 16's greedy figure (equal or a gap < %.2f at the divergence): %zu of %zu prompts\n",
              kIssueNearTie, issue_ok, reference().greedy.size());
}

}  // namespace
}  // namespace loom::test
