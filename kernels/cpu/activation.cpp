#include "kernels/cpu/activation.h"

#include <array>
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

namespace {

// ggml_gelu_f32 as GCC compiles it for ggml (GNU C contracts a*b + c into
// an fma): the one contraction is 1 + (A x) x.
float gelu_tanh(float x) {
  constexpr float kA = 0.044715f, kSqrt2OverPi = 0.79788456080286535587989211986876f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * std::fma(kA * x, x, 1.0f)));
}

const std::array<uint16_t, 65536>& gelu_table() {
  static const auto table = [] {
    std::array<uint16_t, 65536> t{};
    for (uint32_t i = 0; i < t.size(); ++i)
      t[i] = fp32_to_fp16(gelu_tanh(fp16_to_fp32(static_cast<uint16_t>(i))));
    return t;
  }();
  return table;
}

}  // namespace

void geglu(const float* gate, const float* up, float* out, int64_t n) {
  const auto& table = gelu_table();
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g <= -10.0f ? 0.0f : g >= 10.0f ? g * up[i] : fp16_to_fp32(table[fp32_to_fp16(g)]) * up[i];
  }
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::swiglu(gate, up, out, n);
  ref::swiglu(gate, up, out, n);
}

}  // namespace loom::cpu
