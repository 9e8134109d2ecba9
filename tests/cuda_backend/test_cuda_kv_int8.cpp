// The emulated CUDA backend with the int8 KV cache (CudaModelOptions::kv_int8)
// on SmolLM2: a short prompt's prefill and decode steps (one of them a CUDA
// graph replay) give the same greedy tokens as the fp16 cache, and logits
// rows stay close (int8 K/V rounding: step amax/127 per token and head).
// Kept short: emulation costs ~3-4 s per token row through 30 layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tests/cuda_backend/cuda_greedy_run.h"
#include "tests/common/test_paths.h"

namespace loom::test {
namespace {

constexpr int32_t kBlocks = 8, kBlockSize = 16, kContext = 128, kNewTokens = 3;

struct Generation : CudaGreedyRun {
  std::string report;
};

Generation generate(bool kv_int8, const std::string& text) {
  CudaModelOptions o = one_sequence_options(kContext, kBlocks, kBlockSize);
  o.kv_int8 = kv_int8;
  auto model = CudaModel::load(model_path(), o);
  const auto prompt = model->tokenizer().encode(text, true, false);
  Generation run{cuda_greedy_run(*model, prompt, kNewTokens), model->memory_report()};
  return run;
}

TEST(CudaBackendKvInt8, GreedyTokensMatchTheFp16Cache) {
  ASSERT_TRUE(std::filesystem::exists(model_path())) << "model " << model_path() << " is missing";
  const Generation f16 = generate(false, "The quick brown fox");
  const Generation i8 = generate(true, "The quick brown fox");
  EXPECT_NE(i8.report.find("int8 + fp32 scales"), std::string::npos) << i8.report;
  EXPECT_NE(f16.report.find(" fp16 = "), std::string::npos) << f16.report;
  ASSERT_EQ(f16.tokens.size(), static_cast<size_t>(kNewTokens));
  EXPECT_EQ(i8.tokens, f16.tokens);
  EXPECT_GT(i8.graph_steps, 0);
  ASSERT_EQ(i8.logits.size(), f16.logits.size());
  for (size_t s = 0; s < f16.logits.size(); ++s) {
    const auto& a = f16.logits[s];
    const auto& b = i8.logits[s];
    double max_diff = 0, mean_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
      mean_diff += std::fabs(double(a[i]) - b[i]);
    }
    mean_diff /= a.size();
    std::printf("step %zu token %d: int8 vs fp16 logits max|diff| %.4f mean %.5f\n", s, f16.tokens[s],
                max_diff, mean_diff);
    // A wrong scale or slot moves whole rows by units; int8 rounding by tenths.
    EXPECT_LT(mean_diff, 0.5) << "step " << s;
  }
}

}  // namespace
}  // namespace loom::test
