// Every accepted job ends with exactly one terminal event: cancel, deadline,
// stop strings, bad input, prefix-cache hits, drain.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "tests/engine/engine_harness.h"

namespace loom::test {
namespace {

using namespace std::chrono_literals;

TEST(EngineLifecycle, CancelMidStreamEndsWithCancelled) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  JobRequest job = text_job("c", "Count from one to one thousand:", 500);
  job.params.ignore_eos = true;
  engine->submit(job, events.callback());
  while (events.deltas("c") < 3) std::this_thread::sleep_for(1ms);
  engine->cancel("c");
  ASSERT_TRUE(events.wait_finished(1));
  const auto r = events.get("c");
  EXPECT_EQ(r.terminals, 1);
  ASSERT_EQ(r.terminal->kind, JobEvent::Kind::kDone);
  EXPECT_EQ(r.terminal->finish_reason, FinishReason::kCancelled);
  EXPECT_LT(r.tokens.size(), 500u);
  // The step that reported the cancel ran nothing; the engine must go on
  // serving after it.
  engine->submit(text_job("after", "Hello", 4), events.callback());
  ASSERT_TRUE(events.wait_finished(2));
  EXPECT_EQ(events.get("after").terminal->kind, JobEvent::Kind::kDone);
  EXPECT_EQ(events.get("after").tokens.size(), 4u);
}

TEST(EngineLifecycle, DeadlineEndsWithDeadline) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  JobRequest job = text_job("d", "Write a very long story:", 1000);
  job.params.ignore_eos = true;
  job.deadline = 300ms;
  engine->submit(job, events.callback());
  ASSERT_TRUE(events.wait_finished(1));
  const auto r = events.get("d");
  EXPECT_EQ(r.terminals, 1);
  EXPECT_EQ(r.terminal->finish_reason, FinishReason::kDeadline);
}

TEST(EngineLifecycle, StopStringCutsTheTextWhereItFirstAppears) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  JobRequest free_run = text_job("free", "List the days of the week:", 60);
  free_run.params.ignore_eos = true;
  engine->submit(free_run, events.callback());
  ASSERT_TRUE(events.wait_finished(1));
  const std::string full = events.get("free").text;
  ASSERT_GT(full.size(), 20u);
  // Pick a stop string from the middle of the greedy text: the stopped run
  // must return exactly what precedes its first occurrence.
  const std::string stop = full.substr(full.size() / 2, 4);
  JobRequest stopped = free_run;
  stopped.id = "stopped";
  stopped.params.stop = {stop};
  engine->submit(stopped, events.callback());
  ASSERT_TRUE(events.wait_finished(2));
  const auto r = events.get("stopped");
  EXPECT_EQ(r.text, full.substr(0, full.find(stop)));
  EXPECT_EQ(r.terminal->finish_reason, FinishReason::kStop);
  EXPECT_EQ(r.terminals, 1);
}

TEST(EngineLifecycle, BadJobsGetPreciseErrors) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  engine->submit(text_job("empty", "", 5), events.callback());
  JobRequest ids;
  ids.id = "ids";
  ids.prompt.value = std::vector<int32_t>{1, 2, 999999};
  engine->submit(ids, events.callback());
  engine->submit(text_job("long", "hello", 4000), events.callback());
  // (Field ranges such as a NaN temperature are the contract door's check:
  // tests/contract/validate_test.cpp. The engine checks what needs the model.)
  JobRequest keep = text_job("dup", "hello there", 30);
  keep.params.ignore_eos = true;
  engine->submit(keep, events.callback());
  engine->submit(text_job("dup", "again", 5), events.callback());
  ASSERT_TRUE(events.wait_finished(5));
  auto error_of = [&](const std::string& id) {
    for (const auto& e : events.get(id).events)
      if (e.kind == JobEvent::Kind::kError) return std::make_pair(e.error_code, e.message);
    return std::make_pair(ErrorCode::kInternal, std::string("no error"));
  };
  EXPECT_EQ(error_of("empty").first, ErrorCode::kBadRequest);
  EXPECT_NE(error_of("empty").second.find("empty"), std::string::npos);
  EXPECT_EQ(error_of("ids").first, ErrorCode::kBadRequest);
  EXPECT_NE(error_of("ids").second.find("999999"), std::string::npos);
  EXPECT_EQ(error_of("long").first, ErrorCode::kTooLong);
  EXPECT_NE(error_of("dup").second.find("already in flight"), std::string::npos);
  // The first "dup" still completes normally: 2 terminal events under that id.
  EXPECT_EQ(events.get("dup").terminals, 2);
}

TEST(EngineLifecycle, SharedPrefixIsServedFromTheCache) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  std::string system(1200, ' ');
  for (size_t i = 0; i < system.size(); ++i) system[i] = "abcdefgh ijklmnop "[i % 18];
  engine->submit(text_job("first", system + " Question one?", 4), events.callback());
  ASSERT_TRUE(events.wait_finished(1));
  engine->submit(text_job("second", system + " Question two?", 4), events.callback());
  ASSERT_TRUE(events.wait_finished(2));
  const auto first = events.get("first").terminal->usage;
  const auto second = events.get("second").terminal->usage;
  EXPECT_EQ(first.cached_tokens, 0);
  // Every full block of the shared prefix is reused (block size 16).
  EXPECT_GE(second.cached_tokens, (first.prompt_tokens - 16) / 16 * 16 - 16);
  EXPECT_LT(second.cached_tokens, second.prompt_tokens);
}

TEST(EngineLifecycle, DrainFinishesWorkAndRefusesNewJobs) {
  LOOM_REQUIRE_ENGINE_MODEL(model);
  auto engine = make_engine(*model);
  EventCollector events;
  for (int i = 0; i < 4; ++i) engine->submit(text_job("j" + std::to_string(i), "Hello", 8), events.callback());
  engine->drain(60s);
  ASSERT_TRUE(events.wait_finished(4, std::chrono::seconds(5)));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(events.get("j" + std::to_string(i)).terminals, 1);
  engine->submit(text_job("late", "Hello", 8), events.callback());
  // The engine's threads are gone: a rejection must still arrive... from the
  // caller's thread, since nothing else is left to deliver it.
  ASSERT_TRUE(events.wait_finished(5, std::chrono::seconds(5)));
  EXPECT_EQ(events.get("late").terminal->error_code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace loom::test
