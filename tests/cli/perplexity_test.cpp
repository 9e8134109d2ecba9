// llama-perplexity's arithmetic (adapters/host/cli/perplexity.h) on a case
// small enough to compute by hand in float64: windows of 6 tokens score
// positions 3 and 4 only (the second half, minus the last position, which has
// no next token), so two windows give 4 NLLs: 1, 2, 0.5, 1.5.
//   mean = 1.25, E[x^2] = 7.5 / 4 = 1.875, variance = 1.875 - 1.5625 = 0.3125
//   PPL = e^1.25 = 3.4903429574618414
//   +/- = PPL * sqrt(0.3125 / (4 - 1)) = 1.1265033455668378
// After the first window alone: mean 1.5, PPL e^1.5 = 4.4817.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "adapters/host/cli/perplexity.h"

namespace loom::cli {
namespace {

constexpr float kIgnored = -100.0f;  // first-half positions: never scored

TEST(Perplexity, HandComputedTwoWindows) {
  PerplexityAccumulator acc(6);
  acc.add_window(std::vector<float>{kIgnored, kIgnored, kIgnored, -1.0f, -2.0f});
  EXPECT_EQ(acc.count(), 2);
  EXPECT_EQ(acc.progress(), "[1]4.4817,");
  acc.add_window(std::vector<float>{kIgnored, kIgnored, kIgnored, -0.5f, -1.5f});
  EXPECT_EQ(acc.windows(), 2);
  EXPECT_EQ(acc.count(), 4);
  EXPECT_NEAR(acc.ppl(), 3.4903429574618414, 1e-13);
  ASSERT_TRUE(acc.error().has_value());
  EXPECT_NEAR(*acc.error(), 1.1265033455668378, 1e-13);
  EXPECT_EQ(acc.progress(), "[2]3.4903,");
  EXPECT_EQ(acc.final_line(), "Final estimate: PPL = 3.4903 +/- 1.12650");
}

TEST(Perplexity, OddWindowScoresFromHalfRoundedDown) {
  // n_ctx 5: first = 2, positions 2 and 3 scored (n_ctx - first - 1 = 2).
  PerplexityAccumulator acc(5);
  acc.add_window(std::vector<float>{kIgnored, kIgnored, -1.0f, -3.0f});
  EXPECT_EQ(acc.count(), 2);
  EXPECT_NEAR(acc.ppl(), std::exp(2.0), 1e-12);
  // variance 1, sqrt(1 / 1) * e^2
  EXPECT_NEAR(*acc.error(), std::exp(2.0), 1e-12);
}

TEST(Perplexity, AWindowNeedsOneValuePerPositionButTheLast) {
  PerplexityAccumulator acc(6);
  EXPECT_THROW(acc.add_window(std::vector<float>(6, -1.0f)), std::invalid_argument);
  EXPECT_THROW(acc.add_window(std::vector<float>(4, -1.0f)), std::invalid_argument);
  EXPECT_EQ(acc.windows(), 0);
}

TEST(Perplexity, ZeroVarianceHasNoEstimate) {
  PerplexityAccumulator acc(4);
  acc.add_window(std::vector<float>{kIgnored, kIgnored, -1.0f});
  acc.add_window(std::vector<float>{kIgnored, kIgnored, -1.0f});
  EXPECT_FALSE(acc.error().has_value());
  EXPECT_EQ(acc.final_line(), "Unexpected negative standard deviation of log(prob)");
}

TEST(Perplexity, WindowCountFollowsLlamaPerplexity) {
  EXPECT_EQ(perplexity_windows(8, 4, -1), 2);
  EXPECT_EQ(perplexity_windows(23, 4, -1), 5) << "the tail that fills no window is dropped";
  EXPECT_EQ(perplexity_windows(23, 4, 3), 3);
  EXPECT_EQ(perplexity_windows(23, 4, 10), 5);
  EXPECT_THROW(perplexity_windows(7, 4, -1), std::invalid_argument) << "needs 2 * n_ctx tokens";
  EXPECT_THROW(perplexity_windows(100, 1, -1), std::invalid_argument);
}

TEST(Perplexity, EachWindowStartsWithBosWhenTheModelAddsOne) {
  std::vector<int32_t> tokens(12);
  for (int i = 0; i < 12; ++i) tokens[i] = i;
  EXPECT_EQ(perplexity_window(tokens, 4, 1, 99), std::vector<int32_t>({99, 5, 6, 7}));
  EXPECT_EQ(perplexity_window(tokens, 4, 1, std::nullopt), std::vector<int32_t>({4, 5, 6, 7}));
  EXPECT_EQ(perplexity_window(tokens, 4, 2, std::nullopt), std::vector<int32_t>({8, 9, 10, 11}));
  EXPECT_THROW(perplexity_window(tokens, 4, 3, std::nullopt), std::out_of_range);
}

}  // namespace
}  // namespace loom::cli
