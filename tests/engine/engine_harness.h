// A real engine on the real model for tests: CpuModel + CpuExecutor + Engine,
// and a collector that records every event per job id.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include "backends/common/engine/engine.h"
#include "backends/cpu/cpu_executor.h"
#include "backends/cpu/cpu_model.h"
#include "tests/common/test_paths.h"

namespace loom::test {

struct JobRecord {
  std::vector<JobEvent> events;
  std::string text;                // concatenated delta text (+ done text)
  std::vector<int32_t> tokens;     // concatenated ids
  int terminals = 0;
  std::optional<JobEvent> terminal;
};

class EventCollector {
 public:
  JobCallback callback() {
    return [this](const JobEvent& ev) {
      std::lock_guard lock(mu_);
      JobRecord& r = jobs_[ev.id];
      r.events.push_back(ev);
      r.text += ev.text;
      r.tokens.insert(r.tokens.end(), ev.token_ids.begin(), ev.token_ids.end());
      if (ev.kind != JobEvent::Kind::kDelta) {
        ++r.terminals;
        r.terminal = ev;
        ++finished_;
      }
      cv_.notify_all();
    };
  }
  // Waits until `n` terminal events arrived in total (fails after 300 s).
  bool wait_finished(int n, std::chrono::seconds limit = std::chrono::seconds(300)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return finished_ >= n; });
  }
  JobRecord get(const std::string& id) {
    std::lock_guard lock(mu_);
    return jobs_[id];
  }
  int deltas(const std::string& id) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& e : jobs_[id].events) n += e.kind == JobEvent::Kind::kDelta;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, JobRecord> jobs_;
  int finished_ = 0;
};

// The model is loaded once per test binary; each test gets a fresh engine.
inline CpuModel* engine_model() {
  static std::unique_ptr<CpuModel> model = [] {
    if (!std::filesystem::exists(model_path())) return std::unique_ptr<CpuModel>();
    CpuModelOptions o;
    o.max_context = 2048;
    o.kv_blocks = 384;
    o.max_batch_tokens = 256;
    return CpuModel::load(model_path(), o);
  }();
  return model.get();
}

inline std::unique_ptr<Engine> make_engine(CpuModel& model, EngineConfig config = {}) {
  config.max_batched_tokens = std::min(config.max_batched_tokens, model.max_batch_tokens());
  ModelFacts facts{model.config().name, &model.tokenizer(), model.chat_template(), model.config().n_vocab};
  return std::make_unique<Engine>(config, std::make_unique<CpuExecutor>(model), facts);
}

inline JobRequest text_job(std::string id, std::string prompt, int max_tokens, float temperature = 0.0f) {
  JobRequest r;
  r.id = std::move(id);
  r.prompt.value = std::move(prompt);
  r.params.max_tokens = max_tokens;
  r.params.sampling.temperature = temperature;
  return r;
}

#define LOOM_REQUIRE_ENGINE_MODEL(model)                                                    \
  CpuModel* model = ::loom::test::engine_model();                                           \
  ASSERT_NE(model, nullptr) << "model " << ::loom::test::model_path()                       \
                            << " is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)"

}  // namespace loom::test
