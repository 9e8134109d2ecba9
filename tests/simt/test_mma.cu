// Tensor-core wrappers (common/mma.cuh) against float64 references, with
// fragments loaded through the PTX ISA's documented lane layouts.
#include <random>

#include "kernels/cuda/common/mma.cuh"
#include "kernels/cuda/examples/block_sum.cuh"
#include "kernels/cuda/examples/mma_tile.cuh"
#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

uint32_t pack(__half lo, __half hi) {
  return static_cast<uint32_t>(__half_as_ushort(lo)) |
         (static_cast<uint32_t>(__half_as_ushort(hi)) << 16);
}

// a: 16x16 row-major, b: 16x8 row-major (k, n), c/d: 16x8 row-major.
// Layouts from the PTX ISA "Matrix Fragments for mma.m16n8k16" tables.
__global__ void mma_direct(const __half* a, const __half* b, const float* c, float* d) {
  const int lane = threadIdx.x, g = lane >> 2, t = lane % 4;
  uint32_t af[4], bf[2];
  float cf[4], df[4];
  for (int r = 0; r < 4; ++r) {
    const int row = g + 8 * (r % 2), col = 2 * t + 8 * (r / 2);  // a_{2r}, a_{2r+1}
    af[r] = pack(a[row * 16 + col], a[row * 16 + col + 1]);
  }
  for (int r = 0; r < 2; ++r) {
    const int k = 2 * t + 8 * r;
    bf[r] = pack(b[k * 8 + g], b[(k + 1) * 8 + g]);
  }
  for (int i = 0; i < 4; ++i) cf[i] = c[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
  loom::cuda::mma_m16n8k16_f16f32(df, af, bf, cf);
  for (int i = 0; i < 4; ++i) d[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = df[i];
}

std::vector<__half> random_halves(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-64, 64);
  std::vector<__half> v(n);
  for (auto& x : v) x = __float2half(dist(rng) / 16.0f);
  return v;
}

TEST(SimtMma, M16n8k16MatchesFloat64Reference) {
  auto a = random_halves(256, 1), b = random_halves(128, 2);
  std::vector<float> c(128);
  for (int i = 0; i < 128; ++i) c[i] = static_cast<float>(i % 5) - 2.0f;
  __half *da = to_device(a), *db = to_device(b);
  float *dc = to_device(c), *dd = to_device(std::vector<float>(128, 0.0f));
  ASSERT_EQ(loom_launch(mma_direct, 1, 32, 0, nullptr, da, db, dc, dd), cudaSuccess);
  auto d = to_host(dd, 128);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double ref = c[i * 8 + j];
      for (int k = 0; k < 16; ++k)
        ref += static_cast<double>(__half2float(a[i * 16 + k])) * __half2float(b[k * 8 + j]);
      ASSERT_NEAR(d[i * 8 + j], ref, 1e-5) << i << "," << j;
    }
  // mma is warp-wide: a 16-thread block cannot execute it.
  std::string e = simt_error_of([&] { loom_launch(mma_direct, 1, 16, 0, nullptr, da, db, dc, dd); });
  EXPECT_NE(e.find("do not exist"), std::string::npos) << e;
  for (void* p : {(void*)da, (void*)db, (void*)dc, (void*)dd}) cudaFree(p);
}

TEST(SimtMma, LdmatrixAndCpAsyncExampleTile) {
  auto a = random_halves(256, 3), bt = random_halves(128, 4);  // bt: [n=8][k=16]
  __half *da = to_device(a), *dbt = to_device(bt);
  float* dd = to_device(std::vector<float>(128, 0.0f));
  ASSERT_EQ(loom::cuda::launch_mma_tile(da, dbt, dd, nullptr), cudaSuccess);
  auto d = to_host(dd, 128);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double ref = 0;
      for (int k = 0; k < 16; ++k)
        ref += static_cast<double>(__half2float(a[i * 16 + k])) * __half2float(bt[j * 16 + k]);
      ASSERT_NEAR(d[i * 8 + j], ref, 1e-5) << i << "," << j;
    }
  for (void* p : {(void*)da, (void*)dbt, (void*)dd}) cudaFree(p);
}

// Reads shared memory filled by cp.async; `wait` false forgets cp_async_wait.
__global__ void async_copy(const float* src, float* out, bool wait) {
  LOOM_SHARED(float, s, [128]);
  loom::cuda::cp_async_16(&s[threadIdx.x * 4], src + threadIdx.x * 4);
  loom::cuda::cp_async_commit();
  if (wait) loom::cuda::cp_async_wait<0>();
  __syncthreads();
  for (int i = 0; i < 4; ++i) out[threadIdx.x * 4 + i] = s[(threadIdx.x * 4 + 64 + i) % 128];
}

TEST(SimtMma, CpAsyncDataLandsOnlyAfterWait) {
  std::vector<float> src(128);
  for (int i = 0; i < 128; ++i) src[i] = static_cast<float>(i);
  float *dsrc = to_device(src), *dout = to_device(std::vector<float>(128, 0.0f));
  ASSERT_EQ(loom_launch(async_copy, 1, 32, 0, nullptr, dsrc, dout, true), cudaSuccess);
  auto out = to_host(dout, 128);
  for (int i = 0; i < 128; ++i) ASSERT_EQ(out[i], src[(i + 64) % 128]);
  ASSERT_EQ(loom_launch(async_copy, 1, 32, 0, nullptr, dsrc, dout, false), cudaSuccess);
  out = to_host(dout, 128);
  EXPECT_TRUE(std::isnan(out[0])) << "without the wait, shared memory is still uninitialised";
  cudaFree(dsrc);
  cudaFree(dout);
}

TEST(SimtExamples, RowSumMatchesFloat64Reference) {
  for (auto [rows, cols] : {std::pair{1, 1}, {3, 255}, {2, 1000}}) {
    std::vector<float> x(rows * cols);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 13) * 0.25f - 1.0f;
    float *dx = to_device(x), *dout = to_device(std::vector<float>(rows, 0.0f));
    ASSERT_EQ(loom::cuda::launch_row_sum(dx, dout, rows, cols, nullptr), cudaSuccess);
    auto out = to_host(dout, rows);
    for (int r = 0; r < rows; ++r) {
      double ref = 0;
      for (int c = 0; c < cols; ++c) ref += x[r * cols + c];
      EXPECT_NEAR(out[r], ref, 1e-3) << rows << "x" << cols << " row " << r;
    }
    cudaFree(dx);
    cudaFree(dout);
  }
  EXPECT_EQ(loom::cuda::launch_row_sum(nullptr, nullptr, 0, 4, nullptr), cudaErrorInvalidValue);
}

}  // namespace
