// SiLU-and-multiply (the SwiGLU FFN activation): out = silu(gate) * up,
// silu(g) = g / (1 + exp(-g)), fp16 in/out, fp32 math.
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// gate, up: rows of n elements, row r at gate + r * in_stride (elements), so a
//           fused [n_rows][2n] gate|up GEMM output works with up = gate + n,
//           in_stride = 2n. fp16.
// out:      [n_rows][n] fp16.
// Grid-stride over all elements, 256 threads per block.
cudaError_t launch_silu_mul(const __half* gate, const __half* up, int64_t in_stride, __half* out,
                            int32_t n_rows, int32_t n, cudaStream_t stream);

}  // namespace loom::cuda
