// Bias add for the Q/K/V projections of QKV-bias models (qwen2):
// x[t][i] = fp16(float(x[t][i]) + bias[i]), fp32 math, round to nearest even.
// Up to three (activations, bias) pairs in one launch, so a layer's Q, K and V
// biases cost one kernel; no allocation, no sync (graph-capturable).
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

struct BiasTarget {
  __half* x = nullptr;            // [n_rows][width] fp16, row-major, updated in place
  const float* bias = nullptr;    // [width] fp32
  int32_t width = 0;              // > 0
};

inline constexpr int kMaxBiasTargets = 3;

// targets[0 .. n_targets) each get their bias added to all n_rows rows.
// grid (blocks over rows * width, n_targets), 256 threads, grid-stride.
// cudaErrorInvalidValue: n_targets outside [1, 3], a null pointer, width <= 0,
// n_rows < 0. n_rows == 0 launches nothing.
cudaError_t launch_add_bias(const BiasTarget* targets, int32_t n_targets, int32_t n_rows,
                            cudaStream_t stream);

}  // namespace loom::cuda
