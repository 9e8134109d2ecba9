// Helpers for the SIMT self-tests: device buffers and expecting a kernel bug.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/cuda/common/device.cuh"

namespace loom::simt_test {

template <class T>
T* to_device(const std::vector<T>& host) {
  T* d = nullptr;
  EXPECT_EQ(cudaMalloc(&d, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return d;
}

template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpy(host.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

// Runs `launch` and returns the SimtError message ("" if none was thrown).
template <class F>
std::string simt_error_of(F&& launch) {
  try {
    launch();
  } catch (const loom::simt::SimtError& e) {
    return e.what();
  }
  return "";
}

}  // namespace loom::simt_test
