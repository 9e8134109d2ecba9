#include "kernels/cuda/ops/residual_norm.cuh"

#include "kernels/cuda/ops/reduce.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

// Every thread touches the same elements in each pass (no cross-thread
// dependency besides the reductions).
__global__ void post_norm_add_rms_norm_kernel(const float* __restrict__ o, const float* __restrict__ w_post,
                                              float* __restrict__ x, const float* __restrict__ w_next,
                                              __half* __restrict__ y, int32_t dim, float eps) {
  LOOM_SHARED(float, scratch, [33]);
  const int64_t base = static_cast<int64_t>(blockIdx.x) * dim;
  if (o) {
    float sum_o = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sum_o += o[base + i] * o[base + i];
    const float inv_o = 1.0f / sqrtf(block_sum(sum_o, &scratch[0]) / static_cast<float>(dim) + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) x[base + i] += o[base + i] * inv_o * w_post[i];
    __syncthreads();  // scratch is reused below
  }
  float sum_x = 0.0f;
  for (int i = threadIdx.x; i < dim; i += blockDim.x) sum_x += x[base + i] * x[base + i];
  const float inv_x = 1.0f / sqrtf(block_sum(sum_x, &scratch[0]) / static_cast<float>(dim) + eps);
  for (int i = threadIdx.x; i < dim; i += blockDim.x) y[base + i] = __float2half_rn(x[base + i] * inv_x * w_next[i]);
}

}  // namespace

cudaError_t launch_post_norm_add_rms_norm(const float* o, const float* w_post, float* x, const float* w_next,
                                          __half* y, int32_t n_rows, int32_t dim, float eps,
                                          cudaStream_t stream) {
  if (!x || !w_next || !y || (o && !w_post) || n_rows < 0 || dim <= 0 || !(eps >= 0.0f))
    return cudaErrorInvalidValue;
  if (n_rows == 0) return cudaSuccess;
  return loom_launch(post_norm_add_rms_norm_kernel, dim3(n_rows), dim3(kThreads), 0, stream, o, w_post, x,
                     w_next, y, dim, eps);
}

}  // namespace loom::cuda
