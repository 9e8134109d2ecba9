// Block-level semantics: barriers, shared memory, launch configuration.
#include <numeric>

#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

constexpr int kThreads = 256;

// Tree reduction; `sync_in_loop` false drops the barrier between levels (the bug).
__global__ void block_reduce(const float* x, float* out, bool sync_in_loop) {
  LOOM_SHARED(float, s, [kThreads]);
  const int tid = threadIdx.x;
  s[tid] = x[blockIdx.x * kThreads + tid];
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (tid < stride) s[tid] += s[tid + stride];
    if (sync_in_loop) __syncthreads();
  }
  if (tid == 0) out[blockIdx.x] = s[0];
}

std::vector<float> run_reduce(const std::vector<float>& x, int blocks, bool sync) {
  float* dx = to_device(x);
  float* dout = to_device(std::vector<float>(blocks, 0.0f));
  EXPECT_EQ(loom_launch(block_reduce, dim3(blocks), dim3(kThreads), 0, nullptr, dx, dout, sync),
            cudaSuccess);
  auto out = to_host(dout, blocks);
  cudaFree(dx);
  cudaFree(dout);
  return out;
}

class ScheduleTest : public ::testing::TestWithParam<loom::simt::Schedule> {
 protected:
  void SetUp() override { loom::simt::set_schedule(GetParam(), 42); }
  void TearDown() override { loom::simt::set_schedule(loom::simt::Schedule::kForward); }
};

TEST_P(ScheduleTest, BlockReduceWithBarriersIsExact) {
  const int blocks = 3;
  std::vector<float> x(blocks * kThreads);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) - 5.0f;
  auto out = run_reduce(x, blocks, true);
  for (int b = 0; b < blocks; ++b) {
    double ref = 0;
    for (int i = 0; i < kThreads; ++i) ref += x[b * kThreads + i];
    EXPECT_EQ(out[b], ref) << "block " << b;
  }
}

TEST_P(ScheduleTest, BlockReduceMissingBarrierIsWrong) {
  std::vector<float> x(kThreads);
  for (int i = 0; i < kThreads; ++i) x[i] = static_cast<float>(i + 1);
  auto out = run_reduce(x, 1, false);
  EXPECT_NE(out[0], kThreads * (kThreads + 1) / 2.0f);
}

INSTANTIATE_TEST_SUITE_P(Simt, ScheduleTest,
                         ::testing::Values(loom::simt::Schedule::kForward,
                                           loom::simt::Schedule::kReverse,
                                           loom::simt::Schedule::kShuffled));

__global__ void partial_barrier(int* out) {
  if (threadIdx.x < 32) __syncthreads();  // bug: half of the block never arrives
  out[threadIdx.x] = 1;
}
__global__ void exit_before_barrier(int* out) {
  if (threadIdx.x == 5) return;  // bug: thread 5 skips the barrier
  __syncthreads();
  out[threadIdx.x] = 1;
}
__global__ void divergent_barriers(int* out) {
  if (threadIdx.x % 2) {
    __syncthreads();
  } else {
    __syncthreads();  // a different barrier: undefined on the GPU
  }
  out[threadIdx.x] = 1;
}

TEST(SimtBlock, BarrierNotReachedByAllIsReportedNotHung) {
  int* d = to_device(std::vector<int>(64, 0));
  std::string e = simt_error_of([&] { loom_launch(partial_barrier, 1, 64, 0, nullptr, d); });
  EXPECT_NE(e.find("__syncthreads"), std::string::npos) << e;
  e = simt_error_of([&] { loom_launch(exit_before_barrier, 1, 64, 0, nullptr, d); });
  EXPECT_NE(e.find("__syncthreads"), std::string::npos) << e;
  e = simt_error_of([&] { loom_launch(divergent_barriers, 1, 64, 0, nullptr, d); });
  EXPECT_NE(e.find("divergent __syncthreads"), std::string::npos) << e;
  // The harness is usable again after a failed launch.
  std::vector<float> x(kThreads, 1.0f);
  EXPECT_EQ(run_reduce(x, 1, true)[0], kThreads);
  cudaFree(d);
}

// 2-D blocks and the classic padded shared tile: out = in^T, [n, n].
__global__ void transpose(const float* in, float* out, int n) {
  LOOM_SHARED(float, tile, [32][33]);
  const int x = blockIdx.x * 32 + threadIdx.x, y = blockIdx.y * 32 + threadIdx.y;
  if (x < n && y < n) tile[threadIdx.y][threadIdx.x] = in[y * n + x];
  __syncthreads();
  const int tx = blockIdx.y * 32 + threadIdx.x, ty = blockIdx.x * 32 + threadIdx.y;
  if (tx < n && ty < n) out[ty * n + tx] = tile[threadIdx.x][threadIdx.y];
}

TEST(SimtBlock, TwoDimensionalTransposeMatchesReference) {
  const int n = 45;
  std::vector<float> in(n * n);
  std::iota(in.begin(), in.end(), 0.0f);
  float* din = to_device(in);
  float* dout = to_device(std::vector<float>(n * n, 0.0f));
  ASSERT_EQ(loom_launch(transpose, dim3(2, 2), dim3(32, 32), 0, nullptr, din, dout, n),
            cudaSuccess);
  auto out = to_host(dout, n * n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c) ASSERT_EQ(out[r * n + c], in[c * n + r]) << r << "," << c;
  cudaFree(din);
  cudaFree(dout);
}

__global__ void shared_off_by_one(float* out) {
  LOOM_SHARED(float, s, [32]);
  s[threadIdx.x + 1] = 1.0f;  // bug: lane 31 writes s[32]
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

TEST(SimtBlock, SharedMemoryOutOfBoundsIsCaught) {
  float* d = to_device(std::vector<float>(32, 0.0f));
  std::string e = simt_error_of([&] { loom_launch(shared_off_by_one, 1, 32, 0, nullptr, d); });
  EXPECT_NE(e.find("shared memory index 32 out of range [0, 32)"), std::string::npos) << e;
  cudaFree(d);
}

// Dynamic shared memory holds blockDim.x floats: out[i] = x[blockDim.x - 1 - i].
__global__ void reverse_block(const float* x, float* out) {
  float* s = loom_dynamic_smem<float>();
  s[threadIdx.x] = x[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}

TEST(SimtBlock, DynamicSharedMemorySizing) {
  const int n = 128;
  std::vector<float> x(n);
  std::iota(x.begin(), x.end(), 1.0f);
  float* dx = to_device(x);
  float* dout = to_device(std::vector<float>(n, 0.0f));
  ASSERT_EQ(loom_launch(reverse_block, 1, n, n * sizeof(float), nullptr, dx, dout), cudaSuccess);
  auto out = to_host(dout, n);
  for (int i = 0; i < n; ++i) ASSERT_EQ(out[i], x[n - 1 - i]);
  // Too small: the kernel writes past the end, which is reported.
  std::string e = simt_error_of(
      [&] { loom_launch(reverse_block, 1, n, (n / 2) * sizeof(float), nullptr, dx, dout); });
  EXPECT_NE(e.find("dynamic shared memory"), std::string::npos) << e;
  // Over 48 KiB needs the opt-in attribute, as on the GPU.
  EXPECT_EQ(loom_launch(reverse_block, 1, n, 64 * 1024, nullptr, dx, dout), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  ASSERT_EQ(cudaFuncSetAttribute(reverse_block, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 64 * 1024),
            cudaSuccess);
  EXPECT_EQ(loom_launch(reverse_block, 1, n, 64 * 1024, nullptr, dx, dout), cudaSuccess);
  cudaFree(dx);
  cudaFree(dout);
}

TEST(SimtBlock, InvalidLaunchConfigurationIsRejected) {
  float* d = to_device(std::vector<float>(32, 0.0f));
  EXPECT_EQ(loom_launch(reverse_block, 1, 2048, 0, nullptr, d, d), cudaErrorInvalidConfiguration);
  EXPECT_EQ(loom_launch(reverse_block, 0, 32, 0, nullptr, d, d), cudaErrorInvalidConfiguration);
  EXPECT_EQ(loom_launch(reverse_block, 1, dim3(1, 1, 65), 0, nullptr, d, d),
            cudaErrorInvalidConfiguration);
  cudaGetLastError();
  cudaFree(d);
}

}  // namespace
