// AVX-512 (F/BW/VL/DQ + VNNI) dot kernels. Quantized ones handle two 32-element
// blocks per 512-bit register: dpbusd multiplies unsigned weight bytes by signed
// activation bytes and sums groups of 4 into 16 int32 lanes (lanes 0-7: first
// block, 8-15: second), which are converted to float and scaled per block.
#include <immintrin.h>

#include <cstring>

// GCC 12 flags the deliberately undefined pass-through operands inside its own
// AVX-512 intrinsic headers (a known false positive); nothing here is uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::avx512 {
namespace {

// The two fp16 values at a and the two at b as floats {a0, a1, b0, b1}: the
// (d, m) / (d, s) pairs of two blocks in one conversion. Broadcast loads run
// on the load ports, keeping the shuffle port (the bottleneck here) free.
inline __m128 half_pairs(const void* a, const void* b) {
  int32_t ua, ub;
  std::memcpy(&ua, a, 4);
  std::memcpy(&ub, b, 4);
  return _mm_cvtph_ps(_mm_mask_set1_epi32(_mm_set1_epi32(ua), 0b1010, ub));
}

// Per-lane block scale: lanes 0-7 get v[0] (first block), lanes 8-15 get v[2].
inline __m512 spread_scales(__m128 v) {
  const __m512i idx = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(v));
}

// Bytes [a low nibbles, a high nibbles, b low, b high]: elements 0..31 of
// each block. 128-bit broadcasts from memory plus a blend avoid a shuffle.
inline __m512i unpack_nibbles(const uint8_t* qa, const uint8_t* qb) {
  const __m512i a = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qa)));
  const __m512i b = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qb)));
  const __m512i v = _mm512_mask_blend_epi64(0xF0, a, b);
  return _mm512_and_si512(_mm512_srlv_epi64(v, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)),
                          _mm512_set1_epi8(0x0F));
}

inline __m512i load_pair(const int8_t* a, const int8_t* b) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}

// One block in the low half, zeros in the high half (odd tail): the zero
// activations make the high lanes' dot products 0.
inline __m512i load_single(const int8_t* a) {
  return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)));
}

inline float hsum128(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v)));
}

// signed x signed bytes via dpbusd: |x| (unsigned) times y with x's sign.
inline __m512i dot_s8(__m512i x, __m512i y) {
  const __m512i y_signed = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), y_signed);
}

}  // namespace

namespace {

// Each quantized kernel is written for a tile of R weight rows x T tokens:
// activation bytes and scales are loaded once per step for all R rows, weight
// nibbles and scales once for all T tokens. Per (row, token) the operations,
// and so the bits of the result, are exactly those of the 1 x 1 kernel, which
// keeps matmul batch- and split-invariant.
// Step i covers blocks i and j = i + 1 (or only i for an odd tail, with zero
// activations in the high half).

// A register tile of R weight rows x T tokens; out[t * ldo + r].
struct Tile {
  const uint8_t* w;  // R rows, w_stride bytes apart
  size_t w_stride;
  const uint8_t* a;  // T activation rows, a_stride bytes apart
  size_t a_stride;
  float* out;
  int64_t ldo;
};

template <int R, int T>
void q4_1_tile(int64_t n, const Tile& tile) {
  const BlockQ4_1* x[R];
  const BlockQ8_1* y[T];
  __m512 acc[R][T];
  __m128 acc_min[R][T];  // odd lanes: sum of m_x * s_y
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ4_1*>(tile.w + r * tile.w_stride);
  for (int t = 0; t < T; ++t) y[t] = reinterpret_cast<const BlockQ8_1*>(tile.a + t * tile.a_stride);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps(), acc_min[r][t] = _mm_setzero_ps();
  const int64_t nb = n / kQK;
  for (int64_t i = 0; i < nb; i += 2) {
    const bool pair = i + 1 < nb;
    const int64_t j = pair ? i + 1 : i;
    __m128 ys[T];
    __m512i yv[T];
    for (int t = 0; t < T; ++t) {
      ys[t] = half_pairs(&y[t][i].d, &y[t][j].d);
      yv[t] = pair ? load_pair(y[t][i].qs, y[t][j].qs) : load_single(y[t][i].qs);
    }
    for (int r = 0; r < R; ++r) {
      const __m128 xs = half_pairs(&x[r][i].d, &x[r][j].d);
      const __m512i q = unpack_nibbles(x[r][i].qs, x[r][j].qs);
      for (int t = 0; t < T; ++t) {
        // {dx_i*dy_i, mx_i*sy_i, dx_j*dy_j, mx_j*sy_j}
        const __m128 p = _mm_mul_ps(xs, ys[t]);
        acc_min[r][t] = _mm_mask_add_ps(acc_min[r][t], pair ? 0b1010 : 0b0010, acc_min[r][t], p);
        const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, yv[t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), spread_scales(p), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t)
      tile.out[t * tile.ldo + r] = _mm512_reduce_add_ps(acc[r][t]) + hsum128(acc_min[r][t]);
}

template <int R, int T>
void q4_0_tile(int64_t n, const Tile& tile) {
  const BlockQ4_0* x[R];
  const BlockQ8_0* y[T];
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ4_0*>(tile.w + r * tile.w_stride);
  for (int t = 0; t < T; ++t) y[t] = reinterpret_cast<const BlockQ8_0*>(tile.a + t * tile.a_stride);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t nb = n / kQK;
  for (int64_t i = 0; i < nb; i += 2) {
    const bool pair = i + 1 < nb;
    const int64_t j = pair ? i + 1 : i;
    __m128 ys[T];
    __m512i yv[T], y8[T];
    for (int t = 0; t < T; ++t) {
      // Lanes 1 and 3 hold the first qs bytes read as fp16: unused.
      ys[t] = half_pairs(&y[t][i].d, &y[t][j].d);
      yv[t] = pair ? load_pair(y[t][i].qs, y[t][j].qs) : load_single(y[t][i].qs);
      // sum (q - 8) * y = sum q*y - 8 * sum y
      y8[t] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), yv[t]);
    }
    for (int r = 0; r < R; ++r) {
      const __m128 xs = half_pairs(&x[r][i].d, &x[r][j].d);
      const __m512i q = unpack_nibbles(x[r][i].qs, x[r][j].qs);
      for (int t = 0; t < T; ++t) {
        const __m128 p = _mm_mul_ps(xs, ys[t]);
        const __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), q, yv[t]), y8[t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), spread_scales(p), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) tile.out[t * tile.ldo + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <int R, int T>
void q8_0_tile(int64_t n, const Tile& tile) {
  const BlockQ8_0* x[R];
  const BlockQ8_0* y[T];
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r) x[r] = reinterpret_cast<const BlockQ8_0*>(tile.w + r * tile.w_stride);
  for (int t = 0; t < T; ++t) y[t] = reinterpret_cast<const BlockQ8_0*>(tile.a + t * tile.a_stride);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t nb = n / kQK;
  for (int64_t i = 0; i < nb; i += 2) {
    const bool pair = i + 1 < nb;
    const int64_t j = pair ? i + 1 : i;
    __m128 ys[T];
    __m512i yv[T];
    for (int t = 0; t < T; ++t) {
      ys[t] = half_pairs(&y[t][i].d, &y[t][j].d);
      yv[t] = pair ? load_pair(y[t][i].qs, y[t][j].qs) : load_single(y[t][i].qs);
    }
    for (int r = 0; r < R; ++r) {
      const __m128 xs = half_pairs(&x[r][i].d, &x[r][j].d);
      const __m512i xv = load_pair(x[r][i].qs, x[r][j].qs);
      for (int t = 0; t < T; ++t) {
        const __m128 p = _mm_mul_ps(xs, ys[t]);
        const __m512i dot = dot_s8(xv, yv[t]);
        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), spread_scales(p), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) tile.out[t * tile.ldo + r] = _mm512_reduce_add_ps(acc[r][t]);
}

template <void (*Kernel)(int64_t, const Tile&)>
float one_dot(int64_t n, const void* w, const void* a) {
  float out;
  Kernel(n, Tile{static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(a), 0, &out, 0});
  return out;
}

template <void (*Kernel)(int64_t, const Tile&)>
void tile_dot(int64_t n, const void* w, size_t w_stride, const void* a, size_t a_stride, float* out,
              int64_t ldo) {
  Kernel(n, Tile{static_cast<const uint8_t*>(w), w_stride, static_cast<const uint8_t*>(a), a_stride, out, ldo});
}

}  // namespace

float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) { return one_dot<q4_1_tile<1, 1>>(n, w, a); }
float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) { return one_dot<q4_0_tile<1, 1>>(n, w, a); }
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) { return one_dot<q8_0_tile<1, 1>>(n, w, a); }

// 4 rows x 1 token (decode) and 4 rows x 2 tokens (prefill) register tiles.
const VecDotTileFn kTilesQ4_0[2] = {tile_dot<q4_0_tile<4, 1>>, tile_dot<q4_0_tile<4, 2>>};
const VecDotTileFn kTilesQ4_1[2] = {tile_dot<q4_1_tile<4, 1>>, tile_dot<q4_1_tile<4, 2>>};
const VecDotTileFn kTilesQ8_0[2] = {tile_dot<q8_0_tile<4, 1>>, tile_dot<q8_0_tile<4, 2>>};

float dot_f32(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const float*>(w);
  const auto* y = static_cast<const float*>(a);
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16 * k), _mm512_loadu_ps(y + i + 16 * k), acc[k]);
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : __mmask16((1u << (n - i)) - 1);
    acc[0] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), acc[0]);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

namespace {

// 16 half/bfloat16 values at p (fewer under mask m, the rest 0) as floats.
inline __m512 load_f16(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 load_bf16(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

template <__m512 (*Load)(const uint16_t*, __mmask16)>
float dot_half(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint16_t*>(w);
  const auto* y = static_cast<const uint16_t*>(a);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(Load(x + i, 0xFFFF), Load(y + i, 0xFFFF), acc0);
    acc1 = _mm512_fmadd_ps(Load(x + i + 16, 0xFFFF), Load(y + i + 16, 0xFFFF), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : __mmask16((1u << (n - i)) - 1);
    acc0 = _mm512_fmadd_ps(Load(x + i, m), Load(y + i, m), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

}  // namespace

float dot_f16(int64_t n, const void* w, const void* a) { return dot_half<load_f16>(n, w, a); }
float dot_bf16(int64_t n, const void* w, const void* a) { return dot_half<load_bf16>(n, w, a); }

}  // namespace loom::avx512
