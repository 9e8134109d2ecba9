#include "kernels/cpu/activation.h"

#include <cmath>

#include "kernels/cpu/f16.h"
#include "kernels/cpu/ggml_compat.h"

namespace loom::cpu {

namespace avx2 {  // activation_avx2.cpp
void swiglu(const float* gate, const float* up, float* out, int64_t n);
}  // namespace avx2

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

namespace ref {
// ggml_vec_swiglu_f32 (AVX-512 build): whole 16-element chunks through
// ggml_v_silu, the tail through ggml_silu_f32 (libm expf).
void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const int64_t chunks = n / 16 * 16;
  for (int64_t i = 0; i < chunks; ++i) out[i] = ggml::silu(gate[i]) * up[i];
  for (int64_t i = chunks; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}
}  // namespace ref

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::swiglu(gate, up, out, n);
  ref::swiglu(gate, up, out, n);
}

}  // namespace loom::cpu
