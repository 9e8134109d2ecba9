// IEEE half (fp16) and bfloat16 <-> fp32 conversion. The KV cache stores fp16
// as raw uint16_t bits, so every conversion goes through these.
//
// Scalar conversions are exact (fp16 -> fp32 is lossless, including
// subnormals, inf and NaN; fp32 -> fp16 rounds to nearest, ties to even, as
// F16C's vcvtps2ph does, so the scalar and SIMD paths agree bit for bit).
#pragma once
#include <bit>
#include <cstdint>

namespace loom::cpu {

inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf/NaN
  if (exp == 0) {
    // Zero or subnormal: value = mant * 2^-24, exact in fp32.
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -mag : mag;
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));  // rebias 15 -> 127
}

inline uint16_t fp32_to_fp16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u | ((x >> 13) & 0x3ffu);  // NaN stays NaN (quiet)
  if (x >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to inf (ties to even)
  if (x < 0x38800000u) {
    // Below the smallest normal half (2^-14): adding 0.5 puts the value in a
    // float whose ulp is 2^-24, the half subnormal step, so the FPU rounds
    // (to nearest even) for us; the low mantissa bits are the half bits.
    const float shifted = std::bit_cast<float>(x) + 0.5f;
    return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(shifted) - 0x3f000000u);
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to
  // nearest even; a mantissa carry correctly bumps the exponent.
  const uint32_t odd = (x >> 13) & 1u;
  x += 0xc8000000u + 0xfffu + odd;
  return sign | static_cast<uint16_t>(x >> 13);
}

inline float bf16_to_fp32(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// True when the CPU has AVX2 + FMA + F16C, the baseline the *_avx2.cpp model
// ops are built for. Checked once.
bool cpu_has_avx2_fma_f16c();

// Bulk row converters (F16C when available, exact scalar otherwise).
void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n);
void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);

namespace ref {
void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n);
}  // namespace ref

}  // namespace loom::cpu
