// SwiGLU, the Llama FFN activation: out = silu(gate) * up, with
// silu(g) = g / (1 + exp(-g)), in the order of ggml_vec_swiglu_f32 (see
// ggml_compat.h): exp is ggml's AVX-512 polynomial on 16-element chunks.
#pragma once
#include <cstdint>

namespace loom::cpu {

// gate, up, out: [n]; out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
float silu(float x);

namespace ref {
void swiglu(const float* gate, const float* up, float* out, int64_t n);  // scalar, same bits
}  // namespace ref

}  // namespace loom::cpu
