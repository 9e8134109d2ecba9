// SwiGLU in ggml_vec_swiglu_f32's order (AVX-512 build): 16-element chunks
// through ggml_v_silu (ggml_compat_avx2.h), the tail through libm expf.
#include <cstdint>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/ggml_compat_avx2.h"

namespace loom::cpu::avx2 {

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const int64_t chunks = n / 16 * 16;
  int64_t i = 0;
  for (; i < chunks; i += 8)
    _mm256_storeu_ps(out + i, _mm256_mul_ps(ggml::avx2::silu8(_mm256_loadu_ps(gate + i)),
                                            _mm256_loadu_ps(up + i)));
  for (; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

}  // namespace loom::cpu::avx2
