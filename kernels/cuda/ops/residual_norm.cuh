// Gemma 3's residual step over an fp32 residual stream, fused with the next
// pre-norm (one block per row):
//   if (o):  x += rmsnorm(o) * w_post        (post-attention / post-FFN norm)
//   always:  y = fp16(rmsnorm(x) * w_next)    (the next block's pre-norm)
// rmsnorm(v) = v / sqrt(mean(v^2) + eps), fp32 math (the CPU backend keeps
// the stream in fp32 too; an fp16 stream could overflow on Gemma's
// un-normalised projections, which is why they come in as fp32).
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// o:      [n_rows][dim] fp32 (attention output / FFN down projection) or nullptr.
// w_post: [dim] fp32 (required when o is given).
// x:      [n_rows][dim] fp32, updated in place when o is given.
// w_next: [dim] fp32. y: [n_rows][dim] fp16.
// 256 threads per row.
cudaError_t launch_post_norm_add_rms_norm(const float* o, const float* w_post, float* x, const float* w_next,
                                          __half* y, int32_t n_rows, int32_t dim, float eps,
                                          cudaStream_t stream);

}  // namespace loom::cuda
