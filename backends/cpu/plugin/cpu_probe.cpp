// probe(): what would run here, without touching the model.
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "backends/common/plugin/errors.h"
#include "backends/cpu/plugin/cpu_backend.h"
#include "backends/common/model/kv_budget.h"
#include "kernels/cpu/isa.h"

namespace loom::cpu_plugin {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown cpu";
}

}  // namespace

void probe(loom_probe_info& info, size_t info_size, bool scalar_reference) {
#if !defined(__x86_64__)
  throw plugin::PluginError(LOOM_ERR_UNAVAILABLE, "the cpu backend needs an x86-64 processor");
#endif
  const std::string isa = scalar_reference
                              ? std::string("scalar (scalar-reference build)")
                              : std::string(isa_name(active_isa())) + " (detected " +
                                    std::string(isa_name(detected_isa())) + ")";
  std::snprintf(info.device, sizeof(info.device), "cpu: %s, isa %s", cpu_model_name().c_str(), isa.c_str());
  if (offsetof(loom_probe_info, hardware_threads) + sizeof(int32_t) <= info_size)
    info.hardware_threads = static_cast<int32_t>(std::thread::hardware_concurrency());
  if (offsetof(loom_probe_info, memory_available_bytes) + sizeof(int64_t) <= info_size)
    info.memory_available_bytes = mem_available_bytes();
}

}  // namespace loom::cpu_plugin
