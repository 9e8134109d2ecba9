// loom serve's vLLM door and backend swap, kept out of cmd_serve.cpp: the
// door over the engine (--vllm-engine) and the SIGHUP swap (--backend-next).
#pragma once
#include <memory>
#include <string>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/swappable_engine.h"
#include "adapters/vllm/door.h"

namespace loom::cli {

// nullptr when `address` is empty; a refused handshake throws one line.
std::unique_ptr<VllmDoor> open_vllm_door(const std::string& address, const BackendOptions& backend, EngineApi& engine);

// What SIGHUP swaps between; after a swap the two trade places.
struct SwapPlan {
  BackendOptions current;
  std::string next_backend, next_config_json;  // empty config: the current one
  int64_t drain_timeout_ms = 30000;
};

// Drains the running backend, unloads it, loads the other one, resumes; the
// doors and their connections stay up, jobs that arrive meanwhile wait.
void swap_backends(SwapPlan& plan, SwappableEngine& engine);

}  // namespace loom::cli
