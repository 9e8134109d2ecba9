#include "kernels/cuda/ops/bias_add.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;

// The three descriptors are separate kernel parameters, picked with constant
// indices: indexing a parameter array by blockIdx.y would copy it to local memory.
__global__ void add_bias_kernel(BiasTarget t0, BiasTarget t1, BiasTarget t2, int32_t n_rows) {
  const BiasTarget tg = blockIdx.y == 0 ? t0 : (blockIdx.y == 1 ? t1 : t2);
  const int64_t total = int64_t{n_rows} * tg.width;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int32_t col = static_cast<int32_t>(i % tg.width);
    tg.x[i] = __float2half_rn(__half2float(tg.x[i]) + tg.bias[col]);
  }
}

}  // namespace

cudaError_t launch_add_bias(const BiasTarget* targets, int32_t n_targets, int32_t n_rows,
                            cudaStream_t stream) {
  if (!targets || n_targets < 1 || n_targets > kMaxBiasTargets || n_rows < 0) return cudaErrorInvalidValue;
  BiasTarget pack[kMaxBiasTargets];
  int32_t widest = 0;
  for (int32_t i = 0; i < n_targets; ++i) {
    const BiasTarget& t = targets[i];
    if (!t.x || !t.bias || t.width <= 0) return cudaErrorInvalidValue;
    pack[i] = t;
    widest = t.width > widest ? t.width : widest;
  }
  if (n_rows == 0) return cudaSuccess;
  const int64_t blocks = (int64_t{n_rows} * widest + kThreads - 1) / kThreads;
  const int grid = static_cast<int>(blocks < 4096 ? blocks : 4096);
  return loom_launch(add_bias_kernel, dim3(grid, n_targets), dim3(kThreads), 0, stream, pack[0], pack[1],
                     pack[2], n_rows);
}

}  // namespace loom::cuda
