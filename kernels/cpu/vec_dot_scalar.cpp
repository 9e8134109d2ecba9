// Scalar reference dot kernels: plain loops in vec_dot.h's order (llama.cpp's
// AVX2 kernels), so the SIMD kernels must match them bit for bit.
#include <cmath>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::scalar {

float dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * y[i]);
  return float(sum);
}

float dot_f16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(half_to_float(x[i]) * half_to_float(y[i]));
  return float(sum);
}

float dot_bf16(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(bf16_to_float(x[i]) * bf16_to_float(y[i]));
  return float(sum);
}

namespace {

// vec_dot.h's order: per block, lane g gets fma(d_w * d_a, sum of the 4
// products of group g, lane g); the lanes are folded as hsum_float_8 does.
// wq(j) is weight j of the block as an integer, aq the activation bytes.
struct Lanes {
  float lane[8] = {};

  template <typename WeightAt>
  void add_block(float scale, WeightAt wq, const int8_t* aq) {
    for (int g = 0; g < 8; ++g) {
      int sum = 0;
      for (int j = 4 * g; j < 4 * g + 4; ++j) sum += wq(j) * aq[j];
      lane[g] = std::fma(scale, static_cast<float>(sum), lane[g]);
    }
  }
  float fold() const {
    float b[4];
    for (int i = 0; i < 4; ++i) b[i] = lane[i + 4] + lane[i];
    return (b[0] + b[2]) + (b[1] + b[3]);
  }
};

// Element j of a 4-bit block: low nibbles are elements 0..15, high 16..31.
inline int nibble(const uint8_t* qs, int j) { return j < kQK / 2 ? qs[j] & 0xF : qs[j - kQK / 2] >> 4; }

}  // namespace

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  Lanes acc;
  for (int64_t i = 0; i < n / kQK; ++i)
    acc.add_block(half_to_float(x[i].d) * half_to_float(y[i].d), [&](int j) { return nibble(x[i].qs, j) - 8; },
                  y[i].qs);
  return acc.fold();
}

// d*q + m summed against y: d_x*d_y*sum(q*qy) + m_x * (d_y*sum(qy)) = ... + m_x*s_y.
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  Lanes acc;
  float mins = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    acc.add_block(half_to_float(x[i].d) * half_to_float(y[i].d), [&](int j) { return nibble(x[i].qs, j); },
                  y[i].qs);
    mins = std::fma(half_to_float(x[i].m), half_to_float(y[i].s), mins);
  }
  return acc.fold() + mins;
}

float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  Lanes acc;
  for (int64_t i = 0; i < n / kQK; ++i)
    acc.add_block(half_to_float(x[i].d) * half_to_float(y[i].d), [&](int j) { return q5_0_quant(x[i], j) - 16; },
                  y[i].qs);
  return acc.fold();
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  Lanes acc;
  for (int64_t i = 0; i < n / kQK; ++i)
    acc.add_block(half_to_float(x[i].d) * half_to_float(y[i].d), [&](int j) { return int{x[i].qs[j]}; },
                  y[i].qs);
  return acc.fold();
}

}  // namespace loom::scalar
