// What CUDA device this process could use, found without creating a context
// or loading a model, and the device-memory query the memory plan uses.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace loom::cuda_backend {

struct CudaProbe {
  bool usable = false;
  std::string reason;     // why not usable: "no CUDA driver ...", "compute capability 7.5 < 8.0"
  std::string device;     // "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)"
  int32_t cc_major = 0, cc_minor = 0;
  int32_t sm_count = 0;
  int64_t total_memory = 0;  // bytes
  int32_t driver_version = 0, runtime_version = 0;  // 12040 = 12.4 (0 in emulation)
  bool emulated = false;  // the SIMT emulator (LOOM_SIMT_EMULATION build)
};

inline constexpr int32_t kMinComputeMajor = 8;  // sm_80: mma.m16n8k16, cp.async, bf16

// The device with ordinal `device`. Never throws: a missing driver or GPU, or
// an ordinal past the device count, is a result with a reason (the reason
// names the count: "CUDA device 1 does not exist: 1 device(s), ordinals 0..0").
CudaProbe probe(int32_t device = 0);

struct DeviceMemory {
  int64_t free = 0, total = 0;  // bytes
};

// cudaMemGetInfo of the calling thread's current device. The emulator has no such call: there both are the emulated
// device's totalGlobalMem (16 GiB) and the loader subtracts what it allocated
// itself (CudaProbe::emulated tells which case applies).
DeviceMemory device_memory();

}  // namespace loom::cuda_backend
