// Example op: the sum of each row of a row-major matrix.
// One block of 256 threads per row: strided partial sums, a warp shuffle
// reduction, then one warp reduces the 8 warp sums from shared memory.
#pragma once

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// x: [rows, cols] row-major (device); out: [rows] (device).
cudaError_t launch_row_sum(const float* x, float* out, int rows, int cols, cudaStream_t stream);

}  // namespace loom::cuda
