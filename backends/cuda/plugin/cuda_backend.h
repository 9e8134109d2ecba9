// The CUDA backend's hooks for the shared C ABI glue (backends/common/plugin):
// probe (driver, device, compute capability; no context, no model) and create
// (CudaModel + CudaExecutor + Engine, the KV cache from the budget keys).
// The same sources build libloom_cuda.so (nvcc kernels, cudart, cuBLAS) and
// libloom_cuda_emu.so (the SIMT emulator on the CPU).
#pragma once
#include <cstdint>

#include "backends/common/plugin/backend_hooks.h"

namespace loom::cuda_plugin {

// Throws PluginError(unavailable, reason) when there is no driver, no device,
// or compute capability < 8.0. Fills device, hardware_threads (SMs; 1 in
// emulation, where blocks run one after another) and memory_available_bytes
// (device memory; emulated: min(16 GiB, MemAvailable / 2)).
void probe(loom_probe_info& info, size_t info_size);
plugin::BackendParts create(const plugin::PluginConfig& config);

// The keys this backend reads beyond the common ones: {"graph_batch_sizes", "device"}.
std::span<const std::string_view> config_keys();

// The emulated device's memory as this plugin counts it (see kv_plan.h).
int64_t emulated_device_memory(int64_t emulated_total);

}  // namespace loom::cuda_plugin
