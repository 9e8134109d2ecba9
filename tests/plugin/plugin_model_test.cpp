// The CPU plugin with the real model, through dlopen and the C ABI only:
// in-process jobs, cancel, tokenizer against llama.cpp's ids, stats.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;
using loom::test::PluginCollector;

namespace {

class PluginModel : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(loom::test::model_path())) return;
    lib_ = ph::Library::open(loom::test::cpu_plugin_path());
    backend_ = new ph::Backend(lib_->create(loom::test::plugin_test_config()));
    backend_->start();
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
  }
  void SetUp() override { LOOM_REQUIRE_PLUGIN_MODEL(); }

  static inline std::shared_ptr<ph::Library> lib_;
  static inline ph::Backend* backend_ = nullptr;
};

}  // namespace

TEST_F(PluginModel, TwoJobsGetDeltasAndExactlyOneTerminal) {
  PluginCollector c;
  const std::string a = "a", b = "b", pa = "The capital of France is", pb = "1, 2, 3, 4,";
  backend_->submit(loom::test::greedy_text_request(a, pa, 12), PluginCollector::callback, &c);
  backend_->submit(loom::test::greedy_text_request(b, pb, 12), PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(2));
  for (const auto& id : {a, b}) {
    const auto job = c.get(id);
    EXPECT_EQ(job.terminals, 1) << id;
    EXPECT_GT(job.deltas, 0) << id;
    ASSERT_EQ(job.events.back().kind, LOOM_EVENT_DONE) << id << ": " << job.events.back().message;
    EXPECT_EQ(job.events.back().completion_tokens, static_cast<int32_t>(job.ids.size())) << id;
    EXPECT_EQ(job.events.back().prompt_tokens, static_cast<int32_t>(backend_->tokenize(id == a ? pa : pb).size()));
    // The streamed text is the tokenizer's decoding of the streamed ids.
    EXPECT_EQ(job.text, backend_->detokenize(job.ids)) << id;
  }
}

TEST_F(PluginModel, TokenPromptMatchesTextPrompt) {
  PluginCollector c;
  const std::string t = "t", k = "k", prompt = "Once upon a time";
  backend_->submit(loom::test::greedy_text_request(t, prompt, 8), PluginCollector::callback, &c);
  const std::vector<int32_t> ids = backend_->tokenize(prompt);
  loom_job_request r = loom::test::greedy_text_request(k, prompt, 8);
  r.prompt_kind = LOOM_PROMPT_TOKENS;
  r.prompt_tokens = ids.data();
  r.n_prompt_tokens = ids.size();
  backend_->submit(r, PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(2));
  EXPECT_EQ(c.get(t).ids, c.get(k).ids);
  EXPECT_EQ(c.get(t).ids.size(), 8u);
}

TEST_F(PluginModel, CancelFromInsideTheCallback) {
  PluginCollector c;
  const std::string id = "long", prompt = "Write a long story about a dragon.";
  c.on_delta = [&](const std::string& which) {
    loom_error* err = backend_->api().cancel(backend_->handle(), which.data(), which.size());
    if (err) backend_->api().error_free(err);  // a second delta may race the cancel: not_found is fine
  };
  loom_job_request r = loom::test::greedy_text_request(id, prompt, 200);
  r.ignore_eos = 1;  // only the cancel (or the length) can end it
  backend_->submit(r, PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(1));
  const auto job = c.get(id);
  EXPECT_EQ(job.terminals, 1);
  ASSERT_EQ(job.events.back().kind, LOOM_EVENT_DONE);
  EXPECT_EQ(job.events.back().finish_reason, LOOM_FINISH_CANCELLED) << job.ids.size() << " tokens: " << job.text;
  EXPECT_LT(job.ids.size(), 200u);
}

TEST_F(PluginModel, CancelUnknownIdIsNotFound) {
  try {
    backend_->cancel("never-submitted");
    FAIL();
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_NOT_FOUND);
  }
}

TEST_F(PluginModel, DuplicateIdInFlightIsRefusedAtOnce) {
  PluginCollector c;
  const std::string id = "dup", prompt = "Hello";
  backend_->submit(loom::test::greedy_text_request(id, prompt, 32), PluginCollector::callback, &c);
  try {
    backend_->submit(loom::test::greedy_text_request(id, prompt, 4), PluginCollector::callback, &c);
    FAIL() << "a second in-flight 'dup' was accepted";
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("already in flight"), std::string::npos);
  }
  ASSERT_TRUE(c.wait_terminals(1));
  EXPECT_EQ(c.get(id).terminals, 1);
}

TEST_F(PluginModel, EngineRejectionArrivesAsOneErrorEvent) {
  PluginCollector c;
  const std::string id = "huge", prompt = "Hi";
  backend_->submit(loom::test::greedy_text_request(id, prompt, 5000), PluginCollector::callback, &c);  // > context 1024
  ASSERT_TRUE(c.wait_terminals(1));
  const auto job = c.get(id);
  ASSERT_EQ(job.terminals, 1);
  EXPECT_EQ(job.events.back().kind, LOOM_EVENT_ERROR);
  EXPECT_EQ(job.events.back().error_code, LOOM_ERR_INVALID_ARGUMENT) << job.events.back().message;
  EXPECT_EQ(job.events.back().error_name, "too_long") << job.events.back().message;
}

// A host built against an older, smaller loom_job_request (no priority,
// deadline_ms, stream): the plugin accepts it and streams (stream's default),
// even though the bytes past the host's struct read as "do not stream".
TEST_F(PluginModel, OlderRequestLayoutIsAccepted) {
  PluginCollector c;
  const std::string id = "old", prompt = "The sky is";
  union {
    loom_job_request full;
    unsigned char bytes[sizeof(loom_job_request)];
  } buf;
  loom_job_request r = loom::test::greedy_text_request(id, prompt, 6);
  const size_t old_size = offsetof(loom_job_request, priority);
  std::memset(buf.bytes, 0, sizeof(buf.bytes));  // stream = 0, if it were read
  std::memcpy(buf.bytes, &r, old_size);
  buf.full.struct_size = old_size;
  buf.full.deadline_ms = 1;  // a 1 ms deadline, if it were read
  backend_->submit(buf.full, PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(1));
  const auto job = c.get(id);
  EXPECT_GT(job.deltas, 0) << "the plugin read `stream` past the host's struct_size";
  ASSERT_EQ(job.events.back().kind, LOOM_EVENT_DONE);
  EXPECT_EQ(job.events.back().finish_reason, LOOM_FINISH_LENGTH);
  EXPECT_EQ(job.ids.size(), 6u);
}

// Tokenize / detokenize against llama.cpp's ids for the same vocabulary.
TEST_F(PluginModel, TokenizerMatchesLlamaCppFixture) {
  std::ifstream in(loom::test::fixture_path("tokenizer/smollm2_tokens.json"));
  ASSERT_TRUE(in) << "fixture missing";
  const auto doc = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : doc["cases"]) {
    if (!c.contains("text") || !c["text"].is_string()) continue;
    const std::string text = c["text"];
    const auto want = c["ids_bos0_special0"].get<std::vector<int32_t>>();
    const auto got = backend_->tokenize(text, false, false);
    EXPECT_EQ(got, want) << c["name"];
    EXPECT_EQ(backend_->detokenize(got), text) << c["name"];
    ++checked;
  }
  EXPECT_GT(checked, 5);
  try {
    backend_->detokenize({1, 999999});
    FAIL();
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("ids[1] = 999999"), std::string::npos) << e.what();
  }
}

TEST_F(PluginModel, StatsJsonParsesAndSizesTheCacheFromTheBudget) {
  const auto stats = nlohmann::json::parse(backend_->stats_json());
  // 73728000 bytes / (30 layers * 3 heads * 64 dims * 2 B * (K+V) * 16 tokens) = 200 blocks.
  EXPECT_EQ(stats["kv_blocks_total"], 200);
  EXPECT_EQ(stats["startup"]["kv_bytes"], 73728000);
  EXPECT_EQ(stats["backend"], "cpu");
  EXPECT_EQ(stats["state"], "started");
  EXPECT_EQ(stats["model"]["max_context"], 1024) << stats["model"].dump();
  EXPECT_EQ(stats["model"]["n_vocab"], 49152);
  EXPECT_TRUE(stats["health"]["ok"].get<bool>());
}

// kv_cache_dtype "int8" through the C ABI: the same byte budget holds the
// int8 block count of the format (2 * n_kv_heads * (head_dim + 4) bytes per
// token per layer), and a job runs to one DONE with the prompt's first
// greedy token unchanged (its logits come from the prompt alone, where the
// int8 cache's error is smallest; later tokens may drift, see
// tests/model/test_kv_int8_accuracy.cpp).
TEST(PluginModelInt8Kv, BudgetHoldsTheInt8BlockCountAndJobsRun) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  ph::Backend int8(lib->create(loom::test::plugin_test_config(", \"kv_cache_dtype\": \"int8\"")));
  ph::Backend fp16(lib->create(loom::test::plugin_test_config()));
  int8.start();
  fp16.start();
  const auto stats = nlohmann::json::parse(int8.stats_json());
  const int64_t block_bytes = 30 * 2 * 3 * (64 + 4) * 16;  // layers, K+V, kv heads, bytes per head row, tokens
  EXPECT_EQ(stats["kv_blocks_total"], 73728000 / block_bytes);
  EXPECT_EQ(stats["startup"]["kv_cache_dtype"], "int8");

  PluginCollector c8, c16;
  const std::string prompt = "The capital of France is";
  int8.submit(loom::test::greedy_text_request("q", prompt, 6), PluginCollector::callback, &c8);
  fp16.submit(loom::test::greedy_text_request("f", prompt, 6), PluginCollector::callback, &c16);
  ASSERT_TRUE(c8.wait_terminals(1));
  ASSERT_TRUE(c16.wait_terminals(1));
  const auto q = c8.get("q"), f = c16.get("f");
  EXPECT_EQ(q.terminals, 1);
  ASSERT_EQ(q.events.back().kind, LOOM_EVENT_DONE) << q.events.back().message;
  EXPECT_EQ(q.ids.size(), 6u);
  ASSERT_FALSE(f.ids.empty());
  EXPECT_EQ(q.ids.front(), f.ids.front());
}
