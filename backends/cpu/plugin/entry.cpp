// The one exported symbol of libloom_cpu.so (and, built with
// LOOM_CPU_SCALAR_REFERENCE, of libloom_cpu_ref.so).
#include "backends/cpu/plugin/cpu_backend.h"

namespace {

#ifdef LOOM_CPU_SCALAR_REFERENCE
constexpr bool kScalarReference = true;
constexpr const char* kName = "cpu-ref";
constexpr const char* kBuildInfo = "loom cpu backend, scalar-reference build (kernels forced to the scalar ISA)";
#else
constexpr bool kScalarReference = false;
constexpr const char* kName = "cpu";
constexpr const char* kBuildInfo = "loom cpu backend (runtime ISA dispatch: scalar, avx2, avx512)";
#endif

void probe(loom_probe_info& info, size_t size) { loom::cpu_plugin::probe(info, size, kScalarReference); }
loom::plugin::BackendParts create(const loom::plugin::PluginConfig& c) {
  return loom::cpu_plugin::create(c, kScalarReference);
}

const loom::plugin::BackendHooks kHooks{kName, kBuildInfo, loom::cpu_plugin::config_keys(), probe, create};

}  // namespace

extern "C" LOOM_PLUGIN_EXPORT const loom_plugin_api* loom_plugin_get_api(uint32_t host_abi_major) {
  return loom::plugin::get_api(host_abi_major, kHooks);
}
