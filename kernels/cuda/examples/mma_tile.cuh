// Example op: one 16x8x16 tensor-core tile, D = A * B, using every wrapper of
// common/mma.cuh (cp.async into shared memory, ldmatrix, mma.sync).
#pragma once

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// a: [16, 16] f16 row-major; bt: B transposed, [8, 16] f16 row-major (n, k);
// d: [16, 8] f32 row-major. All device pointers, 16-byte aligned. One warp.
cudaError_t launch_mma_tile(const __half* a, const __half* bt, float* d, cudaStream_t stream);

}  // namespace loom::cuda
