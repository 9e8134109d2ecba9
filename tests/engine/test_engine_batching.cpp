// The engine on the real model: results must not depend on batching, and
// seeded sampling must be reproducible.
#include <gtest/gtest.h>

#include "tests/engine/engine_harness.h"
#include "bench/baselines/baseline_policies.h"

namespace loom::test {
namespace {

const char* kPrompts[] = {
    "The history of the bicycle begins",
    "Write a short poem about the sea.",
    "In computer science, a linked list is",
    "The recipe calls for",
    "Once upon a time there was a small dragon who",
    "Photosynthesis is the process by which plants",
    "The quick brown fox",
    "def add(a, b):",
    "My favourite season is autumn because the leaves turn red and gold and the air smells of",
    "Paris is",
    "A good night's sleep",
    "The meeting was scheduled for Tuesday, but",
    "Water boils at",
    "To be or not to be,",
    "The stock market fell sharply today after",
    "Mount Everest is the highest mountain",
};

std::vector<int32_t> run_alone(CpuModel& model, JobRequest job) {
  auto engine = make_engine(model);
  EventCollector events;
  const std::string id = job.id;
  engine->submit(std::move(job), events.callback());
  EXPECT_TRUE(events.wait_finished(1));
  return events.get(id).tokens;
}

TEST(EngineBatching, GreedyTokensDoNotDependOnTheBatch) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  const auto alone = run_alone(*model, text_job("probe", kPrompts[4], 24));
  ASSERT_EQ(alone.size(), 24u);

  EngineConfig config;
  config.max_num_seqs = 17;
  auto engine = make_engine(*model, config);
  EventCollector events;
  for (int i = 0; i < 16; ++i) {
    // Others of different lengths, half of them sampled, arriving first so
    // the probe joins a batch already decoding.
    engine->submit(text_job("other" + std::to_string(i), kPrompts[i], 8 + 3 * i, i % 2 ? 0.8f : 0.0f),
                   events.callback());
  }
  engine->submit(text_job("probe", kPrompts[4], 24), events.callback());
  ASSERT_TRUE(events.wait_finished(17));
  EXPECT_EQ(events.get("probe").tokens, alone);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(events.get("other" + std::to_string(i)).terminals, 1);
}

// The fixed-shape static baseline keeps finished requests' rows in the
// compute as padding: every job still ends once, and the padding (rewriting
// each finished row's last position) changes nobody's tokens.
TEST(EngineBatching, FixedShapeStaticBatchGivesTheSameTokens) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto run = [&](baselines::PolicyKind policy) {
    EngineConfig config;
    config.policy = baselines::make_policy(policy, config.max_preemptions);
    auto engine = make_engine(*model, config);
    EventCollector events;
    for (int i = 0; i < 6; ++i) {  // 4..24 tokens: the short ones finish first and pad
      JobRequest job = text_job("j" + std::to_string(i), kPrompts[i], 4 + 4 * i);
      job.params.ignore_eos = true;
      engine->submit(std::move(job), events.callback());
    }
    EXPECT_TRUE(events.wait_finished(6));
    std::vector<std::vector<int32_t>> tokens;
    for (int i = 0; i < 6; ++i) {
      const auto& job = events.get("j" + std::to_string(i));
      EXPECT_EQ(job.terminals, 1);
      tokens.push_back(job.tokens);
    }
    return tokens;
  };
  const auto continuous = run(baselines::PolicyKind::kContinuous);
  const auto padded = run(baselines::PolicyKind::kStaticPadded);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(continuous[i].size(), static_cast<size_t>(4 + 4 * i));
    EXPECT_EQ(padded[i], continuous[i]) << "job " << i;
  }
}

TEST(EngineBatching, SeededSamplingIsReproducibleInAnyBatch) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto seeded = [](std::string id) {
    JobRequest job = text_job(std::move(id), "Tell me about your favourite animal.", 20, 0.9f);
    job.params.sampling.top_p = 0.95f;
    job.params.sampling.seed = 1234;
    job.params.sampling.has_seed = true;
    return job;
  };
  const auto alone = run_alone(*model, seeded("s"));
  auto engine = make_engine(*model);
  EventCollector events;
  for (int i = 0; i < 5; ++i) engine->submit(text_job("n" + std::to_string(i), kPrompts[i], 12), events.callback());
  engine->submit(seeded("s"), events.callback());
  ASSERT_TRUE(events.wait_finished(6));
  EXPECT_EQ(events.get("s").tokens, alone);
}

TEST(EngineBatching, StreamAndNonStreamGiveTheSameText) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  JobRequest a = text_job("stream", "Explain why the sky is blue.", 40);
  JobRequest b = text_job("whole", "Explain why the sky is blue.", 40);
  b.stream = false;
  engine->submit(a, events.callback());
  engine->submit(b, events.callback());
  ASSERT_TRUE(events.wait_finished(2));
  const auto streamed = events.get("stream"), whole = events.get("whole");
  EXPECT_GT(events.deltas("stream"), 1);
  EXPECT_EQ(events.deltas("whole"), 0);
  EXPECT_EQ(streamed.text, whole.text);
  EXPECT_EQ(streamed.tokens, whole.tokens);
  EXPECT_FALSE(streamed.text.empty());
}

}  // namespace
}  // namespace loom::test
