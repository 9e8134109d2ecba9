#include "kernels/cpu/kv_quant.h"

#include <cmath>

namespace loom::cpu {

float kv_quantize_head(const float* x, int8_t* q, int32_t n) {
  float amax = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    amax = (a > amax || std::isnan(a)) ? a : amax;  // a NaN sticks: the scale shows it
  }
  if (amax == 0.0f) {
    for (int32_t i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  const float inv = 127.0f / amax;  // the spec's factor: one fp32 division, then a multiply per element
  for (int32_t i = 0; i < n; ++i) {
    // fmin/fmax map NaN to the other operand, so the cast below is always defined.
    const float r = std::fmin(std::fmax(std::nearbyint(x[i] * inv), -127.0f), 127.0f);
    q[i] = static_cast<int8_t>(r);
  }
  return amax / 127.0f;
}

void kv_dequantize_head(const int8_t* q, float scale, float* x, int32_t n) {
  for (int32_t i = 0; i < n; ++i) x[i] = static_cast<float>(q[i]) * scale;
}

void kv_quantize_rows(const float* x, int8_t* q, float* scales, int64_t n_rows, int32_t n_heads,
                      int32_t head_dim) {
  const int64_t heads = n_rows * n_heads;
  for (int64_t h = 0; h < heads; ++h) scales[h] = kv_quantize_head(x + h * head_dim, q + h * head_dim, head_dim);
}

}  // namespace loom::cpu
