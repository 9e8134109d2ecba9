// The arithmetic order of llama.cpp's CPU backend (ggml built for AVX-512),
// written out as plain scalar code so any ISA can reproduce its bits.
//
// Why: the models run here quantize activations to int8 per block of 32
// before every matmul, so a last-bit difference anywhere upstream flips a
// rounding, and the flips compound over 30 layers: two correct
// implementations that only sum in different orders disagree on the
// top-1 token at ~4% of positions. Following ggml's order makes Loom's fp16
// path give llama.cpp's logits to the bit, which the model reference test
// checks. Every function names the ggml routine whose order it follows.
//
// All of these are IEEE single-precision adds, multiplies and fused
// multiply-adds, so the AVX2 versions (ggml_compat_avx2.h) give the same bits.
#pragma once
#include <cmath>
#include <cstdint>

namespace loom::cpu::ggml {

// _mm512_reduce_add_ps (GCC): halves, then quarters, then pairs.
inline float tree16(const float l[16]) {
  float a[8], b[4];
  for (int i = 0; i < 8; ++i) a[i] = l[i + 8] + l[i];
  for (int i = 0; i < 4; ++i) b[i] = a[i + 4] + a[i];
  return (b[0] + b[2]) + (b[1] + b[3]);
}

// ggml_v_expf, AVX-512 variant: exp(x) = 2^n * poly(b), b = x - n*ln2.
// |n| > 192 saturates to 0 or inf (exp(-inf) = 0 for masked scores).
inline float expf(float x) {
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  if (std::isnan(n)) return n;
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  // vscalefps: one rounding of j * 2^n (double holds the exact product).
  return static_cast<float>(std::ldexp(static_cast<double>(j), static_cast<int>(n)));
}

// ggml_v_silu (AVX-512): x / (1 + exp(0 - x)).
inline float silu(float x) {
  return x / (1.0f + ggml::expf(0.0f - x));
}

// How an fp16 x fp16 dot of length n is summed (both inputs as exact floats).
enum class F16Dot {
  kTiled16,   // llamafile's tinyBLAS (matmuls of >= 2 columns): lane i % 16, one
              // fma chain per lane, then tree16. Needs n % 16 == 0.
  kVecDot64,  // ggml_vec_dot_f16 (one column): 4 accumulators x 16 lanes over the
              // first n & ~63 elements, folded (0+2)+(1+3), tree16, then the rest
              // added one by one in double.
};

// The order for a matmul with `columns` right-hand columns (query rows) and
// inner length n: tinyBLAS takes it when it can, ggml's vec_dot otherwise.
inline F16Dot f16_dot_for(int64_t columns, int64_t n) {
  return columns >= 2 && n % 16 == 0 ? F16Dot::kTiled16 : F16Dot::kVecDot64;
}

// Lane-folds the per-slot sums of a kVecDot64 dot (slot = index % 64).
inline float fold_vecdot_slots(const float s[64]) {
  float lanes[16];
  for (int l = 0; l < 16; ++l) lanes[l] = (s[l] + s[l + 32]) + (s[l + 16] + s[l + 48]);
  return tree16(lanes);
}

inline float dot_f16(F16Dot order, const float* x, const float* y, int64_t n) {
  if (order == F16Dot::kTiled16) {
    float lanes[16] = {};
    for (int64_t i = 0; i < n; ++i) lanes[i % 16] = std::fma(x[i], y[i], lanes[i % 16]);
    return tree16(lanes);
  }
  const int64_t np = n & ~int64_t{63};
  float slots[64] = {};
  for (int64_t i = 0; i < np; ++i) slots[i % 64] = std::fma(x[i], y[i], slots[i % 64]);
  double sum = fold_vecdot_slots(slots);
  for (int64_t i = np; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

}  // namespace loom::cpu::ggml
