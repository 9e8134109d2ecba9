// SwiGLU, the Llama FFN activation: out = silu(gate) * up, with
// silu(g) = g / (1 + exp(-g)) (ggml_silu_f32's formula).
#pragma once
#include <cstdint>

namespace loom::cpu {

// gate, up, out: [n]; out may alias gate or up.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
float silu(float x);

namespace ref {
void swiglu(const float* gate, const float* up, float* out, int64_t n);  // expf
}  // namespace ref

}  // namespace loom::cpu
