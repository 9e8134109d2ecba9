// probe(): is there a device the kernels can run on, without a context or a model.
#include <algorithm>
#include <cstddef>
#include <cstdio>

#include "backends/common/plugin/errors.h"
#include "backends/common/model/kv_budget.h"
#include "backends/cuda/cuda_model.h"
#include "backends/cuda/plugin/cuda_backend.h"

namespace loom::cuda_plugin {

int64_t emulated_device_memory(int64_t emulated_total) {
  return std::min(emulated_total, mem_available_bytes() / 2);
}

void probe(loom_probe_info& info, size_t info_size) {
  const cuda_backend::CudaProbe p = cuda_probe();
  if (!p.usable) throw plugin::PluginError(LOOM_ERR_UNAVAILABLE, "cuda backend unavailable: " + p.reason);
  std::snprintf(info.device, sizeof(info.device), "cuda: %s%s", p.device.c_str(),
                p.emulated ? " [SIMT emulation on the CPU]" : "");
  if (offsetof(loom_probe_info, hardware_threads) + sizeof(int32_t) <= info_size)
    info.hardware_threads = p.emulated ? 1 : p.sm_count;
  if (offsetof(loom_probe_info, memory_available_bytes) + sizeof(int64_t) <= info_size)
    info.memory_available_bytes = p.emulated ? emulated_device_memory(p.total_memory) : p.total_memory;
}

}  // namespace loom::cuda_plugin
