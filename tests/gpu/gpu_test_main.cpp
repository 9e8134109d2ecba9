// main() of the `gpu` tests: the kernel tests of tests/cuda/* built with nvcc
// against the real kernels. Without a usable device (no driver, no GPU, or
// compute capability below 8.0, which the kernels need) it prints why and
// exits 77, which ctest reports as "Skipped" (SKIP_RETURN_CODE); listing the
// tests (gtest_discover_tests at build time) never touches the device.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

constexpr int kSkipExitCode = 77;

// "" when device 0 can run the kernels, else the reason it cannot.
std::string why_no_device() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) return std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
  if (count == 0) return "no CUDA device";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "cudaGetDeviceProperties failed";
  if (prop.major < 8)
    return std::string(prop.name) + " is sm_" + std::to_string(prop.major * 10 + prop.minor) +
           "; the kernels need sm_80 or newer";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) {
    const std::string why = why_no_device();
    if (!why.empty()) {
      std::printf("SKIPPED: GPU kernel tests need a CUDA device (sm_80+): %s\n", why.c_str());
      return kSkipExitCode;
    }
  }
  return RUN_ALL_TESTS();
}
