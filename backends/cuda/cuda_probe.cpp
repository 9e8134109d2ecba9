#include "backends/cuda/cuda_probe.h"

#include <cstdio>

#include "backends/cuda/cuda_error.h"

namespace loom::cuda_backend {
namespace {

std::string describe(const cudaDeviceProp& p) {
  char buf[400];
  std::snprintf(buf, sizeof buf, "%s (sm_%d%d, %d SMs, %.1f GiB)", p.name, p.major, p.minor,
                p.multiProcessorCount, static_cast<double>(p.totalGlobalMem) / (1 << 30));
  return buf;
}

}  // namespace

CudaProbe probe(int32_t device) {
  CudaProbe r;
#if defined(LOOM_SIMT_EMULATION)
  r.emulated = true;
#else
  if (cudaDriverGetVersion(&r.driver_version) != cudaSuccess || r.driver_version == 0) {
    (void)cudaGetLastError();
    r.reason = "no CUDA driver (libcuda.so not found or not loadable)";
    return r;
  }
  (void)cudaRuntimeGetVersion(&r.runtime_version);
#endif
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    r.reason = err != cudaSuccess ? std::string("no usable CUDA device: ") + cudaGetErrorString(err)
                                  : std::string("no CUDA device");
    return r;
  }
  if (device < 0 || device >= count) {
    r.reason = "CUDA device " + std::to_string(device) + " does not exist: " + std::to_string(count) +
               " device(s), ordinals 0.." + std::to_string(count - 1);
    return r;
  }
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) {
    (void)cudaGetLastError();
    r.reason = "cannot read the properties of CUDA device " + std::to_string(device);
    return r;
  }
  r.device = describe(p);
  r.cc_major = p.major;
  r.cc_minor = p.minor;
  r.sm_count = p.multiProcessorCount;
  r.total_memory = static_cast<int64_t>(p.totalGlobalMem);
  if (p.major < kMinComputeMajor) {
    r.reason = "compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor) +
               " of " + p.name + " is below the 8.0 the kernels need";
    return r;
  }
  r.usable = true;
  return r;
}

DeviceMemory device_memory() {
  DeviceMemory m;
#if defined(LOOM_SIMT_EMULATION)
  cudaDeviceProp p{};
  check_cuda(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  m.total = static_cast<int64_t>(p.totalGlobalMem);
  m.free = m.total;  // the caller subtracts what it allocated (MemoryPlan tracks it)
#else
  size_t free = 0, total = 0;
  check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  m.free = static_cast<int64_t>(free);
  m.total = static_cast<int64_t>(total);
#endif
  return m;
}

}  // namespace loom::cuda_backend
