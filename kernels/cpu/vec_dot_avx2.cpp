// AVX2 (+FMA, F16C) dot kernels: one 32-element block per 256-bit register.
// maddubs multiplies unsigned by signed bytes into int16 pairs (no overflow:
// |q| <= 128, |y| <= 127), madd with ones widens to 8 int32 lanes.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::avx2 {
namespace {

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// Bytes [16 low nibbles, 16 high nibbles] = elements 0..31 of the block.
inline __m256i unpack_nibbles(const uint8_t* q) {
  const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
  return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_set_epi64x(4, 4, 0, 0)), _mm256_set1_epi8(0x0F));
}

inline __m256i load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// 8 int32 partial sums of unsigned u times signed s.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// signed x signed: |x| times y with x's sign.
inline __m256i dot_s8(__m256i x, __m256i y) {
  return dot_u8s8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

inline __m256 scaled(__m256i sums, float scale, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(scale), acc);
}

}  // namespace

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  __m256 acc = _mm256_setzero_ps();
  float sum_min = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    acc = scaled(dot_u8s8(unpack_nibbles(x[i].qs), load32(y[i].qs)), h2f(x[i].d) * h2f(y[i].d), acc);
    sum_min = std::fma(h2f(x[i].m), h2f(y[i].s), sum_min);  // ggml's summs, as GCC fuses it
  }
  return hsum(acc) + sum_min;
}

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8));
    acc = scaled(dot_s8(q, load32(y[i].qs)), h2f(x[i].d) * h2f(y[i].d), acc);
  }
  return hsum(acc);
}

// Q5_0 as signed bytes q - 16 (as llama.cpp's AVX2 kernel): byte k takes qh
// byte k/8 (shuffle) and keeps bit k%8; where it is clear, the nibble gets
// 0xF0 or'ed in, which as int8 is nibble - 16.
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  const __m256i byte_of_bit = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    int32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    const __m256i bits = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), byte_of_bit), bit);
    const __m256i high_clear = _mm256_cmpeq_epi8(bits, _mm256_setzero_si256());
    const __m256i minus16 = _mm256_and_si256(high_clear, _mm256_set1_epi8(int8_t(0xF0)));
    const __m256i q = _mm256_or_si256(unpack_nibbles(x[i].qs), minus16);
    acc = scaled(dot_s8(q, load32(y[i].qs)), h2f(x[i].d) * h2f(y[i].d), acc);
  }
  return hsum(acc);
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i)
    acc = scaled(dot_s8(load32(x[i].qs), load32(y[i].qs)), h2f(x[i].d) * h2f(y[i].d), acc);
  return hsum(acc);
}

namespace {

inline __m256 load8_f32(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8_bf16(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

// Two accumulators over 16 elements per step; the last n % 8 elements in scalar.
template <typename T, __m256 (*Load)(const T*), float (*ToFloat)(T)>
float dot_float(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const T*>(w);
  const auto* y = static_cast<const T*>(a);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc0);
    acc1 = _mm256_fmadd_ps(Load(x + i + 8), Load(y + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += ToFloat(x[i]) * ToFloat(y[i]);
  return sum;
}

inline float id_f32(float v) { return v; }

}  // namespace

float dot_f32(int64_t n, const void* w, const void* a) { return dot_float<float, load8_f32, id_f32>(n, w, a); }
float dot_f16(int64_t n, const void* w, const void* a) {
  return dot_float<uint16_t, load8_f16, half_to_float>(n, w, a);
}
float dot_bf16(int64_t n, const void* w, const void* a) {
  return dot_float<uint16_t, load8_bf16, bf16_to_float>(n, w, a);
}

}  // namespace loom::avx2
