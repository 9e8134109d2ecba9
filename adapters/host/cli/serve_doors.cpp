#include "adapters/host/cli/serve_doors.h"

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace loom::cli {

std::unique_ptr<VllmDoor> open_vllm_door(const std::string& address, const BackendOptions& backend, EngineApi& engine) {
  if (address.empty()) return nullptr;
  VllmDoorOptions options;
  options.handshake_address = address;
  const auto config = nlohmann::json::parse(backend_config(backend));
  options.max_num_seqs = config.value("max_num_seqs", 32);
  options.block_size = config.value("block_size", 16);
  try {
    return std::make_unique<VllmDoor>(engine, options);
  } catch (const VllmDoorError& e) {
    throw std::runtime_error(std::string("--vllm-engine: ") + e.what());
  }
}

void swap_backends(SwapPlan& plan, SwappableEngine& engine) {
  if (plan.next_backend.empty()) {
    std::fprintf(stderr, "loom serve: SIGHUP ignored (no --backend-next)\n");
    return;
  }
  BackendOptions next = plan.current;
  next.backend = plan.next_backend;
  if (!plan.next_config_json.empty()) next.config_json = plan.next_config_json;
  const BackendOptions current = plan.current;
  std::fprintf(stderr, "loom serve: SIGHUP: swapping to %s\n", next.backend.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  size_t waited = 0;
  try {
    waited = engine.swap([&] { return open_engine(next, "loom serve"); },
                         [&] { return open_engine(current, "loom serve"); },
                         std::chrono::milliseconds(plan.drain_timeout_ms));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom serve: swap failed, back on %s: %s\n", current.backend.c_str(), e.what());
    return;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::fprintf(stderr, "loom serve: swapped to %s in %lld ms (%zu jobs waited)\n", next.backend.c_str(),
               static_cast<long long>(ms.count()), waited);
  plan.next_backend = current.backend;  // the next SIGHUP swaps back
  plan.next_config_json = current.config_json;
  plan.current = next;
}

}  // namespace loom::cli
