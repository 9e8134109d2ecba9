// Test helpers for hosts of the C ABI: a collector that copies every event
// out of the callback (the pointers die when it returns) and a config.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "loom/plugin_host.hpp"
#include "tests/common/test_paths.h"

namespace loom::test {

struct PluginEvent {
  int32_t kind;
  std::string text;
  std::vector<int32_t> ids;
  int32_t finish_reason, completion_tokens, prompt_tokens;
  loom_error_code error_code;
  std::string error_name, message;
};

struct PluginJob {
  std::vector<PluginEvent> events;
  int deltas = 0, terminals = 0;
  std::string text;
  std::vector<int32_t> ids;
};

class PluginCollector {
 public:
  static void callback(void* user_data, const loom_job_event* ev) {
    static_cast<PluginCollector*>(user_data)->on_event(*ev);
  }
  // Runs on the output thread after each delta (e.g. to cancel from there).
  std::function<void(const std::string& id)> on_delta;

  bool wait_terminals(int n, std::chrono::seconds limit = std::chrono::seconds(300)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return terminals_ >= n; });
  }
  PluginJob get(const std::string& id) {
    std::lock_guard lock(mu_);
    return jobs_[id];
  }

 private:
  void on_event(const loom_job_event& ev) {
    std::string id(ev.id.data, ev.id.size);
    {
      std::lock_guard lock(mu_);
      PluginEvent e{ev.kind, std::string(ev.text.data, ev.text.size),
                    std::vector<int32_t>(ev.token_ids, ev.token_ids + ev.n_token_ids), ev.finish_reason,
                    ev.completion_tokens, ev.prompt_tokens, ev.error_code,
                    std::string(ev.error_name.data, ev.error_name.size), std::string(ev.message.data, ev.message.size)};
      PluginJob& job = jobs_[id];
      job.text += e.text;
      job.ids.insert(job.ids.end(), e.ids.begin(), e.ids.end());
      job.deltas += ev.kind == LOOM_EVENT_DELTA;
      job.terminals += ev.kind != LOOM_EVENT_DELTA;
      terminals_ += ev.kind != LOOM_EVENT_DELTA;
      job.events.push_back(std::move(e));
      // Notify with the lock held: a waiter that sees its terminal may
      // destroy this collector (and its condition variable) as soon as it
      // can take the lock, so nothing of this object may be touched after
      // the unlock of a terminal event. (Notifying after the unlock raced
      // with that destruction: ThreadSanitizer reported it, and it could
      // wedge the output thread and so the backend's destroy.)
      cv_.notify_all();
    }
    if (ev.kind == LOOM_EVENT_DELTA && on_delta) on_delta(id);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, PluginJob> jobs_;
  int terminals_ = 0;
};

// 200 blocks of 16 tokens (SmolLM2: 368640 bytes each), context 1024.
inline std::string plugin_test_config(const std::string& extra = "") {
  return "{\"model\": \"" + model_path() +
         "\", \"kv_cache_bytes\": 73728000, \"max_context\": 1024, \"max_batch_tokens\": 128, "
         "\"threads\": 2, \"max_num_seqs\": 8" + extra + "}";
}

inline loom_job_request greedy_text_request(const std::string& id, const std::string& prompt, int max_tokens) {
  loom_job_request r;
  loom_job_request_init(&r);
  r.id = {id.data(), id.size()};
  r.prompt_kind = LOOM_PROMPT_TEXT;
  r.prompt_text = {prompt.data(), prompt.size()};
  r.max_tokens = max_tokens;
  r.temperature = 0.0f;
  return r;
}

#define LOOM_REQUIRE_PLUGIN_MODEL()                                                 \
  if (!std::filesystem::exists(::loom::test::model_path()))                        \
  GTEST_FAIL() << "model " << ::loom::test::model_path()                           \
               << " is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)"

}  // namespace loom::test
