// Lifecycle with the real model: submit needs start, drain closes the door,
// a ZeroMQ endpoint over a PluginEngine and in-process jobs share one engine,
// budgets that cannot work are refused with numbers, and the
// scalar-reference build runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <future>

#include "adapters/zmq/client.h"
#include "adapters/zmq/endpoint.h"
#include "contract/plugin_engine.h"
#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;
using loom::test::PluginCollector;

TEST(PluginLifecycle, SubmitNeedsStartAndDrainClosesTheDoor) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  ph::Backend backend = lib->create(loom::test::plugin_test_config(""));
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
  backend.submit(loom::test::greedy_text_request(local, prompt, 4), PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(1));
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

// The host's composition (what `loom serve` does): a ZeroMQ endpoint over a
// PluginEngine, and in-process jobs through the same PluginEngine, share the
// backend's one engine and give the same greedy tokens.
TEST(PluginLifecycle, EndpointOverPluginEngineSharesTheEngine) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const std::string address = "ipc:///tmp/loom-plugin-test-" + std::to_string(getpid()) + ".sock";
  loom::PluginEngine engine(lib->create(loom::test::plugin_test_config("")));
  engine.start();
  loom::EndpointOptions options;
  options.address = address;
  loom::ZmqEndpoint endpoint(engine, options);

  const std::string prompt = "Hello, my name is";
  auto greedy = [&](std::string id) {
    loom::JobRequest job;
    job.id = std::move(id);
    job.prompt.value = prompt;
    job.params.max_tokens = 8;
    job.params.sampling.temperature = 0.0f;
    return job;
  };
  std::promise<loom::JobEvent> local_done;
  std::vector<int32_t> local_ids;
  engine.submit(greedy("local"), [&](const loom::JobEvent& ev) {
    local_ids.insert(local_ids.end(), ev.token_ids.begin(), ev.token_ids.end());
    if (ev.kind != loom::JobEvent::Kind::kDelta) local_done.set_value(ev);
  });
  loom::ZmqClient client({.endpoint = address});
  auto stream = client.generate(greedy("remote"));
  std::vector<int32_t> remote_ids;
  std::optional<loom::JobEvent> last;
  while (auto ev = stream.next()) {
    remote_ids.insert(remote_ids.end(), ev->token_ids.begin(), ev->token_ids.end());
    last = ev;
  }
  ASSERT_TRUE(last && last->kind == loom::JobEvent::Kind::kDone) << (last ? last->message : "no event");
  EXPECT_EQ(local_done.get_future().get().kind, loom::JobEvent::Kind::kDone);
  EXPECT_EQ(local_ids, remote_ids) << "same greedy job, same engine, same tokens";
  EXPECT_GE(engine.stats().jobs_finished, 2);
  EXPECT_EQ(endpoint.address(), address);

  // A refusal at the contract's door reaches a ZeroMQ client in v1 names.
  auto bad = greedy("bad");
  bad.params.sampling.top_p = 1.5f;
  auto refused = client.generate(std::move(bad));
  auto ev = refused.next();
  ASSERT_TRUE(ev && ev->kind == loom::JobEvent::Kind::kError);
  EXPECT_EQ(ev->error_code, loom::ErrorCode::kBadRequest);
  EXPECT_NE(ev->message.find("params.top_p must be in (0, 1]"), std::string::npos) << ev->message;
  endpoint.drain(std::chrono::seconds(5));
  engine.drain(std::chrono::seconds(5));
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

// A fatal backend failure (the test hook "debug_fail_step" makes step 3 throw
// as a lost device would): every accepted job ends with exactly one
// `internal` error within a second, health turns not ok, and later jobs are
// refused the same way.
TEST(PluginLifecycle, FatalStepFailureEndsEveryJobAtOnce) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  ph::Backend backend = lib->create(loom::test::plugin_test_config(", \"debug_fail_step\": 3"));
  backend.start();
  PluginCollector c;
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back("job" + std::to_string(i));
  for (const auto& id : ids)
    backend.submit(loom::test::greedy_text_request(id, "Once upon a time", 64), PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(4, std::chrono::seconds(60)));
  for (const auto& id : ids) {
    const auto job = c.get(id);
    ASSERT_EQ(job.terminals, 1) << id;
    EXPECT_EQ(job.events.back().kind, LOOM_EVENT_ERROR) << id;
    EXPECT_EQ(job.events.back().error_name, "internal") << id;
    EXPECT_NE(job.events.back().message.find("debug_fail_step 3"), std::string::npos) << job.events.back().message;
  }
  const auto stats = nlohmann::json::parse(backend.stats_json());
  EXPECT_FALSE(stats["health"]["ok"].get<bool>());
  EXPECT_EQ(stats["health"]["detail"].get<std::string>().rfind("failed: debug_fail_step 3", 0), 0u)
      << stats["health"].dump();
  const std::string late = "late";
  backend.submit(loom::test::greedy_text_request(late, "Hi", 4), PluginCollector::callback, &c);
  ASSERT_TRUE(c.wait_terminals(5, std::chrono::seconds(10)));
  EXPECT_EQ(c.get(late).events.back().error_name, "internal");
}
