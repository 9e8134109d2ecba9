#include "kernels/cuda/examples/mma_tile.cuh"

#include "kernels/cuda/common/mma.cuh"

namespace loom::cuda {
namespace {

__global__ void mma_tile_kernel(const __half* __restrict__ a, const __half* __restrict__ bt,
                                float* __restrict__ d) {
  LOOM_SHARED(__half, a_s, [16 * 16]);
  LOOM_SHARED(__half, bt_s, [8 * 16]);
  const int lane = threadIdx.x;
  // 16-byte chunks: A has 32 (one per lane), B^T has 16.
  cp_async_16(&a_s[lane * 8], a + lane * 8);
  if (lane < 16) cp_async_16(&bt_s[lane * 8], bt + lane * 8);
  cp_async_commit();
  cp_async_wait<0>();
  __syncwarp();

  // A's four 8x8 quadrants in fragment order: (r0-7,k0-7) (r8-15,k0-7)
  // (r0-7,k8-15) (r8-15,k8-15); lane 8j+i gives row i of quadrant j.
  const int j = lane / 8, i = lane % 8;
  uint32_t af[4], bf[4];
  ldmatrix_x4(af, &a_s[(i + 8 * (j & 1)) * 16 + 8 * (j >> 1)]);
  // B^T rows n = 0..7, k halves 0-7 then 8-15 (quadrants 2, 3 repeat 0, 1).
  ldmatrix_x4(bf, &bt_s[i * 16 + 8 * (j & 1)]);

  const float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float acc[4];
  mma_m16n8k16_f16f32(acc, af, bf, c);
  const int g = lane >> 2, t = lane % 4;
  for (int e = 0; e < 4; ++e) d[(g + 8 * (e >= 2)) * 8 + t * 2 + (e & 1)] = acc[e];
}

}  // namespace

cudaError_t launch_mma_tile(const __half* a, const __half* bt, float* d, cudaStream_t stream) {
  if (!a || !bt || !d) return cudaErrorInvalidValue;
  return loom_launch(mma_tile_kernel, dim3(1), dim3(32), 0, stream, a, bt, d);
}

}  // namespace loom::cuda
