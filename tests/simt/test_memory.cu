// Atomics under contention (many threads, many blocks, one address).
#include <algorithm>
#include <numeric>

#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

__global__ void contended_atomics(int* counter, int* tickets, float* fsum, int* imax, int* last,
                                  float* fmax_bits_as_float) {
  const int gid = blockIdx.x * blockDim.x + threadIdx.x;
  tickets[gid] = atomicAdd(counter, 1);
  atomicAdd(fsum, 0.5f);
  atomicMax(imax, (gid * 37) % 1000);
  atomicExch(last, gid);
  // A float max built from atomicCAS, the usual pattern for types without atomicMax.
  const float v = static_cast<float>((gid * 53) % 997) - 300.0f;
  int* addr = reinterpret_cast<int*>(fmax_bits_as_float);
  int old = *addr, assumed;
  do {
    assumed = old;
    if (__int_as_float(assumed) >= v) break;
    old = atomicCAS(addr, assumed, __float_as_int(v));
  } while (old != assumed);
}

TEST(SimtMemory, AtomicsUnderContention) {
  const int blocks = 8, threads = 128, n = blocks * threads;
  int* counter = to_device(std::vector<int>{0});
  int* tickets = to_device(std::vector<int>(n, -1));
  float* fsum = to_device(std::vector<float>{0.0f});
  int* imax = to_device(std::vector<int>{-1});
  int* last = to_device(std::vector<int>{-1});
  float* fmax = to_device(std::vector<float>{-1e30f});
  ASSERT_EQ(loom_launch(contended_atomics, blocks, threads, 0, nullptr, counter, tickets, fsum,
                        imax, last, fmax),
            cudaSuccess);
  EXPECT_EQ(to_host(counter, 1)[0], n);
  auto t = to_host(tickets, n);
  std::sort(t.begin(), t.end());
  for (int i = 0; i < n; ++i) ASSERT_EQ(t[i], i) << "tickets must be a permutation of 0..n-1";
  EXPECT_EQ(to_host(fsum, 1)[0], 0.5f * n);
  int ref_max = 0;
  float ref_fmax = -1e30f;
  for (int g = 0; g < n; ++g) {
    ref_max = std::max(ref_max, (g * 37) % 1000);
    ref_fmax = std::max(ref_fmax, static_cast<float>((g * 53) % 997) - 300.0f);
  }
  EXPECT_EQ(to_host(imax, 1)[0], ref_max);
  EXPECT_EQ(to_host(fmax, 1)[0], ref_fmax);
  const int l = to_host(last, 1)[0];
  EXPECT_TRUE(l >= 0 && l < n);
  for (void* p : {(void*)counter, (void*)tickets, (void*)fsum, (void*)imax, (void*)last,
                  (void*)fmax})
    cudaFree(p);
}

TEST(SimtMemory, CopiesCheckDirectionAndPointers) {
  std::vector<float> host(16, 1.0f);
  float* d = to_device(host);
  // Swapped direction: a host pointer where a device one is required.
  EXPECT_EQ(cudaMemcpy(host.data(), d, 64, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(d, host.data(), 128, cudaMemcpyHostToDevice), cudaErrorInvalidValue)
      << "copy past the end of the allocation";
  EXPECT_EQ(cudaFree(host.data()), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cudaGetLastError resets";
  EXPECT_EQ(cudaMemset(d, 0, 64), cudaSuccess);
  EXPECT_EQ(to_host(d, 16)[5], 0.0f);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaErrorInvalidValue) << "double free";
}

}  // namespace
