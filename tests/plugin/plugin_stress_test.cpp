// The in-process C ABI paths at once, many times: several host threads
// submit (some with an id already in flight), cancel (from other threads and
// from inside callbacks), and the backend is destroyed while jobs are still
// running. Invariants: every accepted job gets exactly one terminal event and
// none after it; a refused submit gets no event at all; destroy returns.
// Built and run under ThreadSanitizer too (scripts/build.sh tsan).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;

namespace {

// Counts events per id; refuses nothing, so a broken invariant shows as a count.
struct Ledger {
  std::mutex mu;
  std::map<std::string, int> terminals, after_terminal;
  const loom_plugin_api* api = nullptr;
  loom_backend* backend = nullptr;
  std::atomic<int> cancel_from_callback{0};

  static void callback(void* self, const loom_job_event* ev) { static_cast<Ledger*>(self)->on(*ev); }
  void on(const loom_job_event& ev) {
    const std::string id(ev.id.data, ev.id.size);
    {
      std::lock_guard lock(mu);
      if (terminals[id] > 0) ++after_terminal[id];
      if (ev.kind != LOOM_EVENT_DELTA) ++terminals[id];
    }
    // Cancel some jobs from inside their own callback (allowed by ABI.md).
    if (ev.kind == LOOM_EVENT_DELTA && id.back() == '3' && cancel_from_callback.fetch_add(1) % 2 == 0)
      api->error_free(api->cancel(backend, ev.id.data, ev.id.size));
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
  std::mutex accepted_mu;
  std::set<std::string> accepted;
  auto submitter = [&](int t) {
    for (int i = 0; i < 6; ++i) {
      // Thread 0 and 1 share ids on purpose: one of each pair is refused while the other is in flight.
      const std::string id = "r" + std::to_string(round) + "-t" + std::to_string(t % 2) + "-" + std::to_string(i);
      const std::string prompt = "Count: " + std::to_string(i);
      loom_job_request r = loom::test::greedy_text_request(id, prompt, 3 + (i % 4) * 3);
      loom_error* err = api.submit(b, &r, Ledger::callback, &ledger);
      if (!err) {
        std::lock_guard lock(accepted_mu);
        accepted.insert(id);
      } else {
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
  for (const auto& id : accepted) EXPECT_EQ(ledger.terminals[id], 1) << id;
  for (const auto& [id, n] : ledger.terminals) EXPECT_TRUE(accepted.count(id)) << id << " was refused yet got events";
  for (const auto& [id, n] : ledger.after_terminal) EXPECT_EQ(n, 0) << id << ": events after its terminal";
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
