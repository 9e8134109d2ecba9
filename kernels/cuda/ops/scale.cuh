// Elementwise fp32 maps over a contiguous buffer, in place:
//   launch_scale_f32:   x = x * s           (Gemma's sqrt(dim) embedding scale)
//   launch_softcap_f32: x = cap * tanh(x / cap), as cap * tanh(x * (1 / cap))
//                       (the final logit soft-cap, as the CPU computes it)
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// x: [n] fp32 device. Grid-stride, 256 threads per block.
cudaError_t launch_scale_f32(float* x, int64_t n, float s, cudaStream_t stream);
// cap > 0.
cudaError_t launch_softcap_f32(float* x, int64_t n, float cap, cudaStream_t stream);

}  // namespace loom::cuda
