#include "kernels/cuda/ops/swiglu.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void silu_mul_kernel(const __half* __restrict__ gate, const __half* __restrict__ up,
                                int64_t in_stride, __half* __restrict__ out, int32_t n,
                                int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / n, c = i % n;
    const float g = __half2float(gate[r * in_stride + c]);
    const float u = __half2float(up[r * in_stride + c]);
    out[i] = __float2half_rn(g / (1.0f + expf(-g)) * u);
  }
}

}  // namespace

cudaError_t launch_silu_mul(const __half* gate, const __half* up, int64_t in_stride, __half* out,
                            int32_t n_rows, int32_t n, cudaStream_t stream) {
  if (!gate || !up || !out || n_rows < 0 || n <= 0 || in_stride < n) return cudaErrorInvalidValue;
  const int64_t total = int64_t{n_rows} * n;
  if (total == 0) return cudaSuccess;
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  const int grid = static_cast<int>(blocks < 65535 ? blocks : 65535);
  return loom_launch(silu_mul_kernel, dim3(grid), dim3(kThreads), 0, stream, gate, up, in_stride,
                     out, n, total);
}

}  // namespace loom::cuda
