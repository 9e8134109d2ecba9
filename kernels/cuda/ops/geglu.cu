#include "kernels/cuda/ops/geglu.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

// ggml_gelu_f32 (the one contraction GCC makes: 1 + (A g) g as an fma).
__device__ __forceinline__ float gelu_tanh(float g) {
  constexpr float kA = 0.044715f, kSqrt2OverPi = 0.79788456080286535587989211986876f;
  return 0.5f * g * (1.0f + tanhf(kSqrt2OverPi * g * fmaf(kA * g, g, 1.0f)));
}

__global__ void gelu_mul_kernel(const __half* gate, const __half* up, __half* out, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float g = __half2float(gate[i]);
    const float u = __half2float(up[i]);
    const float act = g <= -10.0f ? 0.0f : g >= 10.0f ? g : __half2float(__float2half_rn(gelu_tanh(g)));
    out[i] = __float2half_rn(act * u);
  }
}

}  // namespace

cudaError_t launch_gelu_mul(const __half* gate, const __half* up, __half* out, int32_t n_rows, int32_t n,
                            cudaStream_t stream) {
  if (!gate || !up || !out || n_rows < 0 || n <= 0) return cudaErrorInvalidValue;
  const int64_t total = int64_t{n_rows} * n;
  if (total == 0) return cudaSuccess;
  const int64_t blocks = (total + kThreads - 1) / kThreads;
  const int grid = static_cast<int>(blocks < 65535 ? blocks : 65535);
  return loom_launch(gelu_mul_kernel, dim3(grid), dim3(kThreads), 0, stream, gate, up, out, total);
}

}  // namespace loom::cuda
