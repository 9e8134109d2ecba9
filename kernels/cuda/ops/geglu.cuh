// GELU-and-multiply (Gemma's GeGLU FFN activation): out = gelu(gate) * up
// with the tanh GELU 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))),
// fp16 in/out, fp32 math, the way loom::cpu::geglu (ggml_vec_geglu_f32)
// computes it: 0 for g <= -10, g * up for g >= 10, else gelu(g) rounded to
// fp16 (the CPU's table entry: its inputs are fp16 already here) times up.
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// gate, up, out: [n_rows][n] fp16, contiguous; out may alias gate or up.
// Grid-stride over all elements, 256 threads per block.
cudaError_t launch_gelu_mul(const __half* gate, const __half* up, __half* out, int32_t n_rows, int32_t n,
                            cudaStream_t stream);

}  // namespace loom::cuda
