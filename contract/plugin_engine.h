// PluginEngine: a backend .so, loaded through the C ABI, seen as an
// EngineApi. This is what `loom serve`, `loom generate` and every in-process
// door run over, so each door works with every backend build unchanged.
//
// The plugin validates each request at submit (contract/validate.h); a
// refusal comes back as one kError event carrying the contract's code and
// the offending field, delivered on this object's own thread (EngineApi
// promises callbacks never run inside submit).
#pragma once
#include <memory>
#include <string>
#include <thread>

#include "contract/engine_api.h"
#include "plugin_api/include/loom/plugin_host.hpp"

namespace loom {

class PluginEngine final : public EngineApi {
 public:
  // Takes a created backend; call start() before submitting.
  explicit PluginEngine(plugin_host::Backend backend);
  ~PluginEngine() override;  // drains with timeout 0, then destroys the backend
  PluginEngine(const PluginEngine&) = delete;
  PluginEngine& operator=(const PluginEngine&) = delete;

  void start();
  // Stops accepting, lets jobs finish for up to `timeout`, cancels the rest;
  // every terminal event has been delivered when it returns. Idempotent.
  void drain(std::chrono::milliseconds timeout);

  void submit(JobRequest request, JobCallback callback) override;
  void cancel(const std::string& id) override;
  EngineStats stats() const override;
  EngineHealth health() const override;
  ModelInfo model_info() const override;
  std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;

  // The plugin's whole stats JSON (backend, startup report, state, ...).
  std::string stats_json() const;
  const loom_plugin_api& api() const { return backend_.api(); }

 private:
  class Rejections;  // the thread that delivers refusals found at submit
  mutable plugin_host::Backend backend_;
  std::unique_ptr<Rejections> rejections_;
};

// Parses a plugin's stats JSON into the contract's types (tested on its own).
EngineStats engine_stats_from_json(const std::string& json);
EngineHealth engine_health_from_json(const std::string& json);
ModelInfo model_info_from_json(const std::string& json);

}  // namespace loom
