#include "kernels/cuda/ops/rms_norm.cuh"

#include "kernels/cuda/ops/reduce.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

// Each thread touches the same elements in both passes, so it re-reads its
// own writes of x (no cross-thread dependency besides the reduction).
__global__ void add_rms_norm_kernel(__half* __restrict__ x, const __half* __restrict__ residual,
                                    const float* __restrict__ weight, __half* __restrict__ y,
                                    int32_t dim, float eps) {
  LOOM_SHARED(float, scratch, [33]);
  const int64_t base = static_cast<int64_t>(blockIdx.x) * dim;
  float sum_sq = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    float v = __half2float(x[base + i]);
    if (residual) {
      const __half h = __float2half_rn(v + __half2float(residual[base + i]));
      x[base + i] = h;
      v = __half2float(h);
    }
    sum_sq += v * v;
  }
  const float total = block_sum(sum_sq, &scratch[0]);
  const float scale = 1.0f / sqrtf(total / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) {
    y[base + i] = __float2half_rn(__half2float(x[base + i]) * scale * weight[i]);
  }
}

}  // namespace

cudaError_t launch_add_rms_norm(__half* x, const __half* residual, const float* weight, __half* y,
                                int32_t n_rows, int32_t dim, float eps, cudaStream_t stream) {
  if (!x || !weight || !y || n_rows < 0 || dim <= 0 || !(eps >= 0.0f)) return cudaErrorInvalidValue;
  if (n_rows == 0) return cudaSuccess;
  return loom_launch(add_rms_norm_kernel, dim3(n_rows), dim3(kThreads), 0, stream, x, residual,
                     weight, y, dim, eps);
}

}  // namespace loom::cuda
