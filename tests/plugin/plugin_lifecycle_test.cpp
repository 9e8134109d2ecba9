// Lifecycle with the real model: submit needs start, the ZeroMQ endpoint and
// in-process submit share one engine, drain closes the door, budgets that
// cannot work are refused with numbers, and the scalar-reference build runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "adapters/zmq/client.h"
#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;
using loom::test::PluginCollector;

TEST(PluginLifecycle, EndpointAndInProcessShareTheEngine) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const std::string address = "ipc:///tmp/loom-plugin-test-" + std::to_string(getpid()) + ".sock";
  ph::Backend backend = lib->create(loom::test::plugin_test_config(", \"endpoint\": \"" + address + "\""));

  PluginCollector c;
  const std::string early = "early", prompt = "Hello, my name is";
  try {
    backend.submit(loom::test::greedy_text_request(early, prompt, 4), PluginCollector::callback, &c);
    FAIL() << "submit before start was accepted";
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_UNAVAILABLE);
  }
  backend.start();

  const std::string local = "local";
  backend.submit(loom::test::greedy_text_request(local, prompt, 8), PluginCollector::callback, &c);
  loom::ZmqClient client({.endpoint = address});
  loom::JobRequest job;
  job.id = "remote";
  job.prompt.value = prompt;
  job.params.max_tokens = 8;
  job.params.sampling.temperature = 0.0f;
  auto stream = client.generate(std::move(job));
  std::vector<int32_t> remote_ids;
  std::optional<loom::JobEvent> last;
  while (auto ev = stream.next()) {
    remote_ids.insert(remote_ids.end(), ev->token_ids.begin(), ev->token_ids.end());
    last = ev;
  }
  ASSERT_TRUE(last && last->kind == loom::JobEvent::Kind::kDone) << (last ? last->message : "no event");
  ASSERT_TRUE(c.wait_terminals(1));
  EXPECT_EQ(c.get(local).ids, remote_ids) << "same greedy job, same engine, same tokens";

  auto stats = nlohmann::json::parse(backend.stats_json());
  EXPECT_EQ(stats["endpoint"]["address"], address);
  EXPECT_GE(stats["jobs_finished"].get<int64_t>(), 2);

  backend.drain(std::chrono::seconds(10));
  const std::string late = "late";
  try {
    backend.submit(loom::test::greedy_text_request(late, prompt, 4), PluginCollector::callback, &c);
    FAIL() << "submit after drain was accepted";
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_UNAVAILABLE);
  }
  EXPECT_EQ(nlohmann::json::parse(backend.stats_json())["state"], "drained");
  EXPECT_EQ(backend.tokenize("hi").size(), 1u) << "the tokenizer works in every state";
}

TEST(PluginLifecycle, ImpossibleBudgetIsRefusedWithTheNumbers) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const std::string config = "{\"model\": \"" + loom::test::model_path() + "\", \"kv_cache_bytes\": 1000000}";
  try {
    lib->create(config);
    FAIL();
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_RESOURCE_EXHAUSTED);
    EXPECT_NE(std::string(e.what()).find("holds 2 blocks of 368640 bytes"), std::string::npos) << e.what();
  }
}

TEST(PluginLifecycle, ScalarReferenceBuildRunsScalar) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto ref = ph::Library::open(loom::test::cpu_ref_plugin_path());
  ph::Backend backend = ref->create(loom::test::plugin_test_config());
  backend.start();
  PluginCollector c;
  const std::string id = "r", prompt = "The capital of France is";
  backend.submit(loom::test::greedy_text_request(id, prompt, 4), PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(1));
  EXPECT_EQ(c.get(id).ids.size(), 4u);
  const auto stats = nlohmann::json::parse(backend.stats_json());
  EXPECT_EQ(stats["startup"]["isa"], "scalar");
  EXPECT_EQ(stats["backend"], "cpu-ref");
}
