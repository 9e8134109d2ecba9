// RMSNorm and fused residual-add + RMSNorm over fp16 rows, fp32 math.
//   fused:  x = fp16(x + residual); y = fp16(x * (1 / sqrt(mean(x^2) + eps)) * w)
//   plain:  residual == nullptr, x is only read.
// The norm is taken of the fp16-rounded sum (what the residual stream holds),
// so fused and unfused give the same y. The sum of squares is fp32 (the CPU
// reference sums in double; the difference is far below fp16 resolution).
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// x:        [n_rows][dim] fp16; updated in place when residual != nullptr.
// residual: [n_rows][dim] fp16 or nullptr (plain RMSNorm).
// weight:   [dim] fp32 (GGUF norm weights are F32).
// y:        [n_rows][dim] fp16; must not alias residual, nor x when residual is
//           given; with residual == nullptr, y == x normalises in place (each
//           thread reads its own elements before writing them; Gemma's QK-norm).
// One block of 256 threads per row.
cudaError_t launch_add_rms_norm(__half* x, const __half* residual, const float* weight, __half* y,
                                int32_t n_rows, int32_t dim, float eps, cudaStream_t stream);

}  // namespace loom::cuda
