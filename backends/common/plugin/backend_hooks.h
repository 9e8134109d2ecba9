// What one backend gives the shared C ABI glue: its name, its own config
// keys, a cheap probe and a factory that builds a running Engine from the
// parsed config. The backend's entry point (e.g. backends/cpu/plugin/entry.cpp)
// defines loom_plugin_get_api() as `return loom::plugin::get_api(major, hooks)`.
#pragma once
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "backends/common/engine/engine.h"
#include "backends/common/plugin/config.h"
#include "plugin_api/include/loom/plugin.h"

namespace loom::plugin {

// Everything a created backend owns. Destruction order matters: `engine`
// (declared last) goes first, then whatever its executor refers to.
struct BackendParts {
  std::shared_ptr<void> model;   // kept alive for the engine's executor
  const Tokenizer* tokenizer = nullptr;
  nlohmann::json report = nlohmann::json::object();  // start-up facts, shown in stats
  std::unique_ptr<Engine> engine;
};

struct BackendHooks {
  const char* name;        // static, e.g. "cpu"
  const char* build_info;  // static
  std::span<const std::string_view> config_keys;  // accepted beyond the common keys
  // Fills `info` (caller checked struct_size); throws PluginError(unavailable)
  // with the reason when this backend cannot run here. Must be cheap.
  void (*probe)(loom_probe_info& info, size_t info_size);
  // Loads the model and builds the engine; throws PluginError or the
  // model/format exceptions that errors.cpp maps.
  BackendParts (*create)(const PluginConfig& config);
};

// What clients see as the model's name: the GGUF's general.name, else the
// file's name without its directory.
std::string model_display_name(const std::string& path, const std::string& general_name);

// A created backend's parts around a loaded model and its executor: the
// engine limited to what the model's step can hold. Model: CpuModel,
// CudaModel (tokenizer(), chat_template(), config().n_vocab, max_batch_tokens()).
template <typename Model>
BackendParts assemble(const PluginConfig& config, std::shared_ptr<Model> model,
                      std::unique_ptr<Executor> executor, nlohmann::json report) {
  EngineConfig ec;
  ec.max_num_seqs = config.max_num_seqs;
  ec.max_batched_tokens = std::min(config.max_batch_tokens, model->max_batch_tokens());
  ec.max_pending_jobs = config.max_pending_jobs;
  ec.debug_fail_step = config.debug_fail_step;
  const ModelFacts facts{model_display_name(config.model, model->config().name), &model->tokenizer(),
                         model->chat_template(), model->config().n_vocab};
  BackendParts parts;
  parts.tokenizer = &model->tokenizer();
  parts.report = std::move(report);
  parts.engine = std::make_unique<Engine>(ec, std::move(executor), facts);
  parts.model = std::move(model);
  return parts;
}

// The table for `hooks` (which must be static), or nullptr when the host's
// major differs from ours.
const loom_plugin_api* get_api(uint32_t host_abi_major, const BackendHooks& hooks);

}  // namespace loom::plugin
