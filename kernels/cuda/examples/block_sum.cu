#include "kernels/cuda/examples/block_sum.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__global__ void row_sum_kernel(const float* __restrict__ x, float* __restrict__ out, int cols) {
  LOOM_SHARED(float, warp_sums, [kThreads / 32]);
  const float* row = x + static_cast<size_t>(blockIdx.x) * cols;
  float s = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) s += row[c];
  s = warp_sum(s);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warp_sums[warp] = s;
  __syncthreads();
  if (warp == 0) {
    s = warp_sum(lane < kThreads / 32 ? warp_sums[lane] : 0.0f);
    if (lane == 0) out[blockIdx.x] = s;
  }
}

}  // namespace

cudaError_t launch_row_sum(const float* x, float* out, int rows, int cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0 || !x || !out) return cudaErrorInvalidValue;
  return loom_launch(row_sum_kernel, dim3(rows), dim3(kThreads), 0, stream, x, out, cols);
}

}  // namespace loom::cuda
