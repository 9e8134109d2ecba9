// The one exported symbol of libloom_cuda.so (nvcc kernels) and of
// libloom_cuda_emu.so (the same sources on the SIMT emulator).
#include "backends/cuda/plugin/cuda_backend.h"

namespace {

#if defined(LOOM_SIMT_EMULATION)
constexpr const char* kName = "cuda-emu";
constexpr const char* kBuildInfo =
    "loom cuda backend, SIMT emulation on the CPU (the CUDA kernels run as fibers; for tests, not speed)";
#else
constexpr const char* kName = "cuda";
constexpr const char* kBuildInfo = "loom cuda backend (nvcc kernels for sm_80+, cuBLAS, CUDA graphs)";
#endif

const loom::plugin::BackendHooks kHooks{kName, kBuildInfo, loom::cuda_plugin::config_keys(),
                                        loom::cuda_plugin::probe, loom::cuda_plugin::create};

}  // namespace

extern "C" LOOM_PLUGIN_EXPORT const loom_plugin_api* loom_plugin_get_api(uint32_t host_abi_major) {
  return loom::plugin::get_api(host_abi_major, kHooks);
}
