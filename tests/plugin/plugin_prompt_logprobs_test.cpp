// Prompt logprobs (ABI 1.2) through the CPU plugin, the real model and the
// C ABI (PluginEngine): every prompt position's log P(next prompt token)
// equals llama.cpp's teacher-forced value (tests/fixtures/model, written by
// tests/reference/make_model_fixtures.py) across prefill chunks; a cached
// prefix is not served to such a job, concurrent and streamed jobs get the
// same values, and a job without the option gets none.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "contract/plugin_engine.h"
#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;

namespace {

struct Text {
  std::vector<int32_t> tokens;
  std::vector<double> next_nll;  // llama.cpp's -log p(next token), one per position but the last
};

std::vector<Text> reference_texts() {
  std::ifstream in(loom::test::fixture_path("model/smollm2_reference.json"));
  const auto j = nlohmann::json::parse(in);
  std::vector<Text> texts;
  for (const auto& t : j.at("teacher_forced")) {
    Text text;
    text.tokens = t.at("tokens").get<std::vector<int32_t>>();
    for (size_t p = 0; p + 1 < text.tokens.size(); ++p)
      text.next_nll.push_back(t.at("positions")[p].at("next_nll"));
    texts.push_back(std::move(text));
  }
  return texts;
}

loom::JobRequest job(const std::string& id, const std::vector<int32_t>& tokens,
                     bool prompt_logprobs, bool stream = false) {
  loom::JobRequest r;
  r.id = id;
  r.prompt.value = tokens;
  r.params.max_tokens = 1;
  r.params.sampling.temperature = 0;
  r.params.prompt_logprobs = prompt_logprobs ? 1 : 0;
  r.stream = stream;
  return r;
}

class PluginPromptLogprobs : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(loom::test::model_path())) return;
    auto lib = ph::Library::open(loom::test::cpu_plugin_path());
    // max_batch_tokens 128: the fixture's texts (~200 tokens) take two prefill chunks.
    engine_ = new loom::PluginEngine(lib->create(loom::test::plugin_test_config()));
    engine_->start();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override { LOOM_REQUIRE_PLUGIN_MODEL(); }

  // Submits and returns the terminal event.
  static std::future<loom::JobEvent> submit(loom::JobRequest r) {
    auto done = std::make_shared<std::promise<loom::JobEvent>>();
    auto future = done->get_future();
    engine_->submit(std::move(r), [done](const loom::JobEvent& ev) {
      if (ev.kind != loom::JobEvent::Kind::kDelta) done->set_value(ev);
    });
    return future;
  }
  static loom::JobEvent run(loom::JobRequest r) { return submit(std::move(r)).get(); }

  static inline loom::PluginEngine* engine_ = nullptr;
};

TEST_F(PluginPromptLogprobs, EqualLlamaCppTeacherForcedValuesAcrossChunks) {
  const auto texts = reference_texts();
  ASSERT_GE(texts.size(), 2u);
  for (size_t t = 0; t < 2; ++t) {
    const Text& text = texts[t];
    ASSERT_GT(text.tokens.size(), 128u) << "needs two prefill chunks";
    const loom::JobEvent done = run(job("ref-" + std::to_string(t), text.tokens, true));
    ASSERT_EQ(done.kind, loom::JobEvent::Kind::kDone) << done.message;
    ASSERT_EQ(done.prompt_logprobs.size(), text.tokens.size() - 1);
    double worst = 0;
    for (size_t p = 0; p < text.next_nll.size(); ++p) {
      EXPECT_TRUE(std::isfinite(done.prompt_logprobs[p]) && done.prompt_logprobs[p] <= 0) << p;
      worst = std::max(worst,
                       std::abs(-static_cast<double>(done.prompt_logprobs[p]) - text.next_nll[p]));
    }
    std::printf("text %zu: %zu positions, max |Loom - llama.cpp| = %.3g nats\n", t,
                text.next_nll.size(), worst);
    EXPECT_LT(worst, 1e-5);  // the same logits (llama.cpp's arithmetic), log-softmax in float64
  }
}

TEST_F(PluginPromptLogprobs, ACachedPrefixIsNotServedAndValuesDoNotChange) {
  const auto tokens = reference_texts()[2].tokens;
  const loom::JobEvent first = run(job("a", tokens, true));
  ASSERT_EQ(first.kind, loom::JobEvent::Kind::kDone) << first.message;
  const loom::JobEvent plain = run(job("b", tokens, false));
  EXPECT_TRUE(plain.prompt_logprobs.empty());
  EXPECT_GT(plain.usage.cached_tokens, 0) << "the first job filled the prefix cache";
  const loom::JobEvent again = run(job("c", tokens, true));
  ASSERT_EQ(again.kind, loom::JobEvent::Kind::kDone) << again.message;
  EXPECT_EQ(again.usage.cached_tokens, 0);
  EXPECT_EQ(again.prompt_logprobs, first.prompt_logprobs);
}

TEST_F(PluginPromptLogprobs, ConcurrentAndStreamedJobsGetTheSameValues) {
  const auto tokens = reference_texts()[3].tokens;
  auto a = submit(job("p", tokens, true, /*stream=*/true));
  auto b = submit(job("q", tokens, true, /*stream=*/false));
  const loom::JobEvent ea = a.get(), eb = b.get();
  ASSERT_EQ(ea.kind, loom::JobEvent::Kind::kDone) << ea.message;
  ASSERT_EQ(eb.kind, loom::JobEvent::Kind::kDone) << eb.message;
  EXPECT_EQ(ea.prompt_logprobs.size(), tokens.size() - 1);
  EXPECT_EQ(ea.prompt_logprobs, eb.prompt_logprobs);
}

TEST_F(PluginPromptLogprobs, OutOfRangeValueIsRefusedAtSubmit) {
  loom::JobRequest r = job("bad", {1, 2, 3}, true);
  r.params.prompt_logprobs = 2;
  const loom::JobEvent ev = run(std::move(r));
  EXPECT_EQ(ev.kind, loom::JobEvent::Kind::kError);
  EXPECT_EQ(ev.error_code, loom::ErrorCode::kBadRequest);
  EXPECT_EQ(ev.field, "prompt_logprobs");
}

}  // namespace
