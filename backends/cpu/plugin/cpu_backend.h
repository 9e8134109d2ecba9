// The CPU backend's hooks for the shared C ABI glue: probe (ISA and memory,
// no model) and create (CpuModel + CpuExecutor + Engine, KV cache sized
// from the budget). `scalar_reference` is set by the libloom_cpu_ref.so
// build, which forces the scalar kernels.
#pragma once
#include "backends/common/plugin/backend_hooks.h"

namespace loom::cpu_plugin {

void probe(loom_probe_info& info, size_t info_size, bool scalar_reference);
plugin::BackendParts create(const plugin::PluginConfig& config, bool scalar_reference);

// The keys this backend reads beyond the common ones: {"isa", "numerics"}.
std::span<const std::string_view> config_keys();

}  // namespace loom::cpu_plugin
