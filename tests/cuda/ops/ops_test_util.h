// Helpers for the kernels/cuda/ops SIMT tests: device buffers, NaN poisoning
// (every output element must be written), fp16 bits <-> float, random data.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cuda/common/device.cuh"

namespace loom::cuda_test {

// A device copy of a host vector, freed on destruction.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    EXPECT_EQ(cudaMalloc(&ptr_, bytes()), cudaSuccess);
    if (n_) EXPECT_EQ(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return static_cast<T*>(ptr_); }
  template <class U>
  U* as() const { return static_cast<U*>(ptr_); }
  std::vector<T> to_host() const {
    std::vector<T> host(n_);
    if (n_) EXPECT_EQ(cudaMemcpy(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    return host;
  }

 private:
  size_t bytes() const { return n_ * sizeof(T) + (n_ == 0); }
  void* ptr_ = nullptr;
  size_t n_;
};

inline constexpr uint16_t kHalfNaN = 0x7E00;
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

inline std::vector<float> halves_to_floats(const std::vector<uint16_t>& h) {
  std::vector<float> f(h.size());
  for (size_t i = 0; i < h.size(); ++i) f[i] = half_to_float(h[i]);
  return f;
}

inline std::vector<uint16_t> random_halves(std::mt19937& rng, size_t n, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<uint16_t> h(n);
  for (auto& v : h) v = float_to_half(dist(rng));
  return h;
}

// Random GGUF blocks of `type` for n elements (n % 32 == 0): random quant bytes
// and small positive/negative fp16 scales, so every code path is exercised.
std::vector<uint8_t> random_quant_blocks(std::mt19937& rng, GgmlType type, int64_t n);

}  // namespace loom::cuda_test
