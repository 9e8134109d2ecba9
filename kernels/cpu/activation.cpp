#include "kernels/cpu/activation.h"

#include <cmath>

#include "kernels/cpu/f16.h"

namespace loom::cpu {

namespace avx2 {  // activation_avx2.cpp
void swiglu(const float* gate, const float* up, float* out, int64_t n);
}  // namespace avx2

float silu(float x) { return x / (1.0f + std::exp(-x)); }

namespace ref {
void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}
}  // namespace ref

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::swiglu(gate, up, out, n);
  ref::swiglu(gate, up, out, n);
}

}  // namespace loom::cpu
