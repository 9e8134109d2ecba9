// An EngineApi whose backend .so can be replaced while the doors stay up:
// `loom serve --backend-next SO` swaps on SIGHUP behind a live vLLM frontend
// (which cannot accept a reconnecting engine) or ZeroMQ clients. swap()
// drains the current backend (jobs in flight finish), unloads it, loads the
// next and resumes; jobs submitted meanwhile wait and then run on the next.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "contract/plugin_engine.h"

namespace loom::cli {

class SwappableEngine final : public EngineApi {
 public:
  using Opener = std::function<std::unique_ptr<PluginEngine>()>;
  explicit SwappableEngine(std::unique_ptr<PluginEngine> engine);
  ~SwappableEngine() override;

  // If `open_next` throws, `reopen` (the backend that was running) is loaded
  // instead and the error is rethrown once the waiting jobs run there.
  // Returns how many jobs waited for the swap.
  size_t swap(const Opener& open_next, const Opener& reopen, std::chrono::milliseconds drain_timeout);
  void drain(std::chrono::milliseconds timeout);
  PluginEngine& current();  // start-up use only (names, config)

  void submit(JobRequest request, JobCallback callback) override;
  void cancel(const std::string& id) override;
  EngineStats stats() const override;
  EngineHealth health() const override;
  ModelInfo model_info() const override { return model_; }
  std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;

 private:
  size_t resume();

  mutable std::shared_mutex engine_mu_;  // exclusive only to take or put engine_
  std::unique_ptr<PluginEngine> engine_;
  mutable std::mutex wait_mu_;           // held across submit, so none slips past a swap
  bool swapping_ = false;
  std::vector<std::pair<JobRequest, JobCallback>> waiting_;
  const ModelInfo model_;                // the same model file on every backend
  mutable std::mutex stats_mu_;
  mutable EngineStats last_stats_;
  EngineStats retired_;  // totals of the backends swapped out: counters stay monotonic
};

}  // namespace loom::cli
