// The int8 KV-cache element format (shared with the CUDA backend; spec in
// kernels/cpu/README.md "int8 KV cache"). One fp32 scale per
// (token slot, KV head) over that head's head_dim values:
//   amax = max_i |x_i|;  scale = amax / 127;
//   q_i  = clamp(nearbyint(x_i * (127 / amax)), -127, 127)   (nearest even)
//   amax == 0: scale 0 and q all 0.          Dequantize: x_i = q_i * scale.
// So |x_i - q_i * scale| <= scale / 2 (plus fp32 rounding of the factors),
// and the element at amax maps to +-127.
//
// Non-finite input is not an error here (the forward pass never produces it
// for a healthy model): an inf/NaN in a head gives an inf/NaN scale, and every
// q_i stays a defined value in [-127, 127] (no UB on the float->int cast).
// These helpers are scalar: quantization is O(kv_dim) per token and layer,
// negligible next to the matmuls.
#pragma once
#include <cstdint>

namespace loom::cpu {

// Quantizes x[0..n) into q[0..n) and returns the scale.
float kv_quantize_head(const float* x, int8_t* q, int32_t n);

// x[i] = q[i] * scale.
void kv_dequantize_head(const int8_t* q, float scale, float* x, int32_t n);

// rows x: [n_rows][n_heads][head_dim] fp32 -> q: same shape int8,
// scales: [n_rows][n_heads].
void kv_quantize_rows(const float* x, int8_t* q, float* scales, int64_t n_rows, int32_t n_heads,
                      int32_t head_dim);

}  // namespace loom::cpu
