#include "kernels/cuda/ops/scale.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void scale_kernel(float* x, int64_t n, float s) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] *= s;
}

__global__ void softcap_kernel(float* x, int64_t n, float cap, float inv_cap) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] = tanhf(x[i] * inv_cap) * cap;
}

int grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? blocks : 65535);
}

}  // namespace

cudaError_t launch_scale_f32(float* x, int64_t n, float s, cudaStream_t stream) {
  if (!x || n < 0) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  return loom_launch(scale_kernel, dim3(grid_for(n)), dim3(kThreads), 0, stream, x, n, s);
}

cudaError_t launch_softcap_f32(float* x, int64_t n, float cap, cudaStream_t stream) {
  if (!x || n < 0 || !(cap > 0.0f)) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  return loom_launch(softcap_kernel, dim3(grid_for(n)), dim3(kThreads), 0, stream, x, n, cap, 1.0f / cap);
}

}  // namespace loom::cuda
