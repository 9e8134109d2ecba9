// Block layouts of the quantized ggml types (GGUF spec / ggml-common.h) and
// the half-precision conversions the kernels need. A block covers 32 elements
// (Q4_0..Q8_1) or a 256-element super-block (K-quants). All fields are
// little-endian; fp16 scales are kept as raw uint16_t bits.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/ggml_type.h"

namespace loom {

inline constexpr int kQK = 32;    // elements per Q4_0/Q4_1/Q5_0/Q8_0/Q8_1 block
inline constexpr int kQKK = 256;  // elements per K-quant super-block

// x = d * (q - 8), q a nibble; element j<16 is the low nibble of qs[j], j>=16 the high one of qs[j-16].
struct BlockQ4_0 { uint16_t d; uint8_t qs[kQK / 2]; };
// x = d * q + m, nibbles as in Q4_0.
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[kQK / 2]; };
// x = d * (q - 16), q = nibble as in Q4_0 | bit j of qh (little-endian) << 4 for element j.
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[kQK / 2]; };
// x = d * q.
struct BlockQ8_0 { uint16_t d; int8_t qs[kQK]; };
// x = d * q; s = d * sum(q) (activation format for Q4_1 weights).
struct BlockQ8_1 { uint16_t d; uint16_t s; int8_t qs[kQK]; };
// 8 sub-blocks of 32: x = d*sc[j]*q - dmin*m[j], 6-bit sc/m packed in scales[12].
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[kQKK / 2]; };
// As Q4_K with a fifth bit per element in qh.
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[kQKK / 8]; uint8_t qs[kQKK / 2]; };
// 16 sub-blocks of 16: x = d*scales[j]*(q-32), q = 4 low bits (ql) | 2 high bits (qh).
struct BlockQ6_K { uint8_t ql[kQKK / 2]; uint8_t qh[kQKK / 4]; int8_t scales[kQKK / 16]; uint16_t d; };
// Activation format for K-quants: float scale, bsums[j] = sum of qs[16j..16j+15].
struct BlockQ8_K { float d; int8_t qs[kQKK]; int16_t bsums[kQKK / 16]; };

#define LOOM_CHECK_BLOCK(T, id)                                              \
  static_assert(sizeof(T) == ggml_type_info(GgmlType::id).block_bytes, #T); \
  static_assert(ggml_type_info(GgmlType::id).block_elems == (GgmlType::id >= GgmlType::Q2_K ? kQKK : kQK))
LOOM_CHECK_BLOCK(BlockQ4_0, Q4_0);
LOOM_CHECK_BLOCK(BlockQ4_1, Q4_1);
LOOM_CHECK_BLOCK(BlockQ5_0, Q5_0);
LOOM_CHECK_BLOCK(BlockQ8_0, Q8_0);
LOOM_CHECK_BLOCK(BlockQ8_1, Q8_1);
LOOM_CHECK_BLOCK(BlockQ4_K, Q4_K);
LOOM_CHECK_BLOCK(BlockQ5_K, Q5_K);
LOOM_CHECK_BLOCK(BlockQ6_K, Q6_K);
LOOM_CHECK_BLOCK(BlockQ8_K, Q8_K);
#undef LOOM_CHECK_BLOCK

// IEEE half -> float, exact for all inputs (normals, subnormals, inf, NaN).
// Portable bit manipulation so scalar files need no F16C.
inline float half_to_float(uint16_t h) {
  const uint32_t w = uint32_t{h} << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  // Normals: shift the exponent/mantissa into place and rebias by 2^-112.
  const float normalized = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  // Subnormals: build 0.5 + m*2^-24 and subtract 0.5.
  const float denormalized = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t bits = two_w < (1u << 27) ? std::bit_cast<uint32_t>(denormalized)
                                            : std::bit_cast<uint32_t>(normalized);
  return std::bit_cast<float>(sign | bits);
}

// float -> IEEE half, round to nearest even (same as F16C's vcvtps2ph).
inline uint16_t float_to_half(float f) {
  // Scaling by 2^112 then 2^-110 makes the FPU do the rounding at half precision.
  float base = (std::fabs(f) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = std::bit_cast<uint32_t>(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = std::bit_cast<uint32_t>(base);
  const uint32_t nonsign = ((bits >> 13) & 0x00007C00u) + (bits & 0x00000FFFu);
  return static_cast<uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

inline float bf16_to_float(uint16_t h) { return std::bit_cast<float>(uint32_t{h} << 16); }

// float -> bfloat16, round to nearest even; NaNs stay (quiet) NaNs.
inline uint16_t float_to_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 64);
  return static_cast<uint16_t>((u + (0x7FFFu + ((u >> 16) & 1))) >> 16);
}

// The unsigned 5-bit quant (0..31) of element j (0..31) of a Q5_0 block.
inline int q5_0_quant(const BlockQ5_0& b, int j) {
  const int lo = j < kQK / 2 ? b.qs[j] & 0xF : b.qs[j - kQK / 2] >> 4;
  return lo | ((b.qh[j / 8] >> (j % 8) & 1) << 4);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K super-block.
inline void k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace loom
