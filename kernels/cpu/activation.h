// FFN activations.
// SwiGLU, the Llama FFN activation: out = silu(gate) * up, with
// silu(g) = g / (1 + exp(-g)), in the order of ggml_vec_swiglu_f32 (see
// ggml_compat.h): exp is ggml's AVX-512 polynomial on 16-element chunks.
#pragma once
#include <cstdint>

namespace loom::cpu {

// gate, up, out: [n]; out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
float silu(float x);

// GeGLU, the Gemma FFN activation: out = gelu(gate) * up with the tanh GELU
// 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))), the way
// ggml_vec_geglu_f32 computes it: 0 for g <= -10, g * up for g >= 10, else
// gelu looked up from a table over fp16 inputs (g rounded to fp16, the table
// entry the fp16 rounding of gelu). gate, up, out: [n]; out may alias either.
void geglu(const float* gate, const float* up, float* out, int64_t n);

namespace ref {
void swiglu(const float* gate, const float* up, float* out, int64_t n);  // scalar, same bits
}  // namespace ref

}  // namespace loom::cpu
