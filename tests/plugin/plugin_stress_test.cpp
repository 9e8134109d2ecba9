// The in-process C ABI paths at once, many times: several host threads
// submit (some with an id already in flight), cancel (from other threads and
// from inside callbacks), and the backend is destroyed while jobs are still
// running. Invariants: every accepted job gets exactly one terminal event and
// none after it; a refused submit gets no event at all; destroy returns.
// Built and run under ThreadSanitizer too (scripts/build.sh tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <deque>
#include <mutex>
#include <thread>

#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;

namespace {

// One submission's record (the callback's user_data): events are counted per
// submission, not per id, because an id is free again once its terminal has
// been delivered and another thread may then reuse it.
struct Ledger;
struct Submission {
  Ledger* ledger = nullptr;
  std::string id;
  bool accepted = false;
  int terminals = 0, after_terminal = 0;
};

struct Ledger {
  std::mutex mu;
  std::deque<Submission> submissions;  // stable addresses
  const loom_plugin_api* api = nullptr;
  loom_backend* backend = nullptr;
  std::atomic<int> cancel_from_callback{0};

  Submission* add(std::string id) {
    std::lock_guard lock(mu);
    submissions.push_back(Submission{this, std::move(id)});
    return &submissions.back();
  }
  static void callback(void* user_data, const loom_job_event* ev) {
    auto* sub = static_cast<Submission*>(user_data);
    Ledger& l = *sub->ledger;
    {
      std::lock_guard lock(l.mu);
      if (sub->terminals > 0) ++sub->after_terminal;
      if (ev->kind != LOOM_EVENT_DELTA) ++sub->terminals;
    }
    // Cancel some jobs from inside their own callback (allowed by ABI.md).
    if (ev->kind == LOOM_EVENT_DELTA && sub->id.back() == '3' && l.cancel_from_callback.fetch_add(1) % 2 == 0)
      l.api->error_free(l.api->cancel(l.backend, ev->id.data, ev->id.size));
  }
};

void run_round(const ph::Library& lib, int round, bool destroy_mid_flight) {
  loom_backend* b = nullptr;
  const auto& api = lib.api();
  const std::string config = "{\"model\": \"" + loom::test::model_path() +
                             "\", \"max_context\": 256, \"kv_cache_bytes\": 30000000, \"threads\": 2, "
                             "\"max_num_seqs\": 8, \"max_batch_tokens\": 64}";
  ASSERT_EQ(api.create(config.data(), config.size(), &b), nullptr);
  ASSERT_EQ(api.start(b), nullptr);
  Ledger ledger;
  ledger.api = &api;
  ledger.backend = b;
  std::atomic<int> refused{0};
  auto submitter = [&](int t) {
    for (int i = 0; i < 6; ++i) {
      // Threads 0 and 2 (and 1 and 3) share ids on purpose: a submit whose
      // id is in flight is refused; once its terminal is out, the id is free.
      const std::string id = "r" + std::to_string(round) + "-t" + std::to_string(t % 2) + "-" + std::to_string(i);
      const std::string prompt = "Count: " + std::to_string(i);
      Submission* sub = ledger.add(id);
      loom_job_request r = loom::test::greedy_text_request(id, prompt, 3 + (i % 4) * 3);
      loom_error* err = api.submit(b, &r, Ledger::callback, sub);
      {
        std::lock_guard lock(ledger.mu);
        sub->accepted = err == nullptr;
      }
      if (err) {
        ++refused;
        api.error_free(err);
      }
      if (i % 3 == 1) api.error_free(api.cancel(b, id.data(), id.size()));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(submitter, t);
  std::thread canceller([&] {
    for (int i = 0; i < 6; ++i) {
      const std::string id = "r" + std::to_string(round) + "-t1-" + std::to_string(i);
      api.error_free(api.cancel(b, id.data(), id.size()));
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  canceller.join();
  if (!destroy_mid_flight) api.error_free(api.drain(b, 120000));
  api.destroy(b);  // drains with timeout 0: what is still running is cancelled, its terminal delivered
  std::lock_guard lock(ledger.mu);
  for (const Submission& s : ledger.submissions) {
    EXPECT_EQ(s.terminals, s.accepted ? 1 : 0) << s.id << (s.accepted ? " (accepted)" : " (refused)");
    EXPECT_EQ(s.after_terminal, 0) << s.id << ": events after its terminal";
  }
  EXPECT_EQ(static_cast<int>(ledger.submissions.size()), 24);
}

TEST(PluginStress, ConcurrentSubmitCancelDuplicateAndDestroy) {
  LOOM_REQUIRE_PLUGIN_MODEL();
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    run_round(*lib, round, /*destroy_mid_flight=*/round % 2 == 1);
  }
}

}  // namespace
