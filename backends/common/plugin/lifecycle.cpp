// create / start / drain / destroy / probe / stats: the backend's lifecycle.
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "backends/common/plugin/backend_state.h"
#include "backends/common/plugin/errors.h"

namespace loom::plugin {
namespace {

// The v1.0 minimum: a probe_info must at least hold `device`.
constexpr size_t kProbeInfoMinSize = offsetof(loom_probe_info, device) + sizeof(loom_probe_info::device);

void check_model_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw PluginError(LOOM_ERR_NOT_FOUND, "model file '" + path + "' does not exist");
  if (!std::filesystem::is_regular_file(path, ec))
    throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "model path '" + path + "' is not a regular file");
}

}  // namespace

std::string model_display_name(const std::string& path, const std::string& general_name) {
  if (!general_name.empty()) return general_name;
  return std::filesystem::path(path).filename().string();
}

void backend_probe(const BackendHooks& hooks, loom_probe_info* info) {
  require(info, "info");
  if (info->struct_size < kProbeInfoMinSize)
    throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "loom_probe_info.struct_size " + std::to_string(info->struct_size) +
                                                     " is below the v1.0 minimum " + std::to_string(kProbeInfoMinSize));
  std::memset(info->device, 0, sizeof(info->device));
  hooks.probe(*info, info->struct_size);
}

loom_backend* backend_create(const BackendHooks& hooks, const char* json, size_t len) {
  require(json, "config_json");
  auto b = std::make_unique<loom_backend>();
  b->hooks = &hooks;
  b->config = parse_config(std::string_view(json, len), hooks.config_keys);
  check_model_file(b->config.model);
  b->parts = hooks.create(b->config);
  if (!b->parts.engine || !b->parts.tokenizer)
    throw PluginError(LOOM_ERR_INTERNAL, std::string(hooks.name) + " backend returned no engine");
  return b.release();
}

void backend_start(loom_backend& b) {
  std::unique_lock lock(b.state_mu);
  if (b.state != BackendStateKind::kCreated)
    throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "start: the backend was already started (or drained)");
  b.state = BackendStateKind::kStarted;
}

void backend_drain(loom_backend& b, int64_t timeout_ms) {
  {
    std::unique_lock lock(b.state_mu);
    if (b.state == BackendStateKind::kDrained) return;
    b.state = BackendStateKind::kDrained;  // in-process submits now fail at once
  }
  // The engine finishes what is in flight; past the timeout it cancels the
  // rest, and every terminal event is delivered before drain returns.
  b.parts.engine->drain(std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)));
}

void backend_destroy(loom_backend* b) noexcept {
  if (!b) return;
  try {
    backend_drain(*b, 0);
  } catch (...) {
    // Destroy must not fail; the members below still release everything.
  }
  b->parts.engine.reset();
  delete b;
}

}  // namespace loom::plugin
