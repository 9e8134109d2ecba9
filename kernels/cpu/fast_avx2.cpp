// AVX2 kernels of the fast layout (fast_kernels.h). Weight rows sit in lanes
// (8 rows per ymm, a 16-row group in two halves); 4 activation bytes are
// broadcast to every lane and _mm256_maddubs_epi16 multiplies them with the
// rows' unsigned nibbles (Q8_0: |w| times sign(a, w)). A tile is 8 rows x NT
// tokens: each weight block is unpacked once per tile.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/fast_kernels.h"

namespace loom::fast::avx2 {
namespace {

// 4 activation bytes to every lane, as one vbroadcastss from memory.
inline __m256i bcast4(const int8_t* p) {
  return _mm256_castps_si256(_mm256_broadcast_ss(reinterpret_cast<const float*>(p)));
}

struct Act {
  const int8_t* q;
  const float* d;
  const float* s;
  const int32_t* sum;
};

inline Act act_row(const Job& job, int64_t t) {
  const uint8_t* a = job.act + t * job.act_stride;
  const auto* d = reinterpret_cast<const float*>(a + act_scales_offset(job.nb));
  return {reinterpret_cast<const int8_t*>(a), d, d + job.nb, reinterpret_cast<const int32_t*>(d + 2 * job.nb)};
}

inline void store_rows(float* dst, __m256 v, int n) {
  if (n >= 8) {
    _mm256_storeu_ps(dst, v);
  } else {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    for (int i = 0; i < n; ++i) dst[i] = tmp[i];
  }
}

// One tile: rows [8h, 8h+8) of group g, tokens [t0, t0+NT).
// Kind: 0 Q4_0 (zero 8), 1 Q4_1 (mins), 2 Q8_0.
template <int NT, int Kind>
void tile(const Job& job, int64_t g, int h, int64_t t0, int nrows) {
  constexpr bool Q8 = Kind == 2, kMin = Kind == 1, kZero = Kind == 0;
  const uint8_t* wg = job.w + g * job.group_bytes;
  const size_t qbytes = Q8 ? 512 : 256;
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i mask4 = _mm256_set1_epi8(0x0F);
  Act a[NT];
  for (int t = 0; t < NT; ++t) a[t] = act_row(job, t0 + t);
  __m256 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < job.nb; ++b) {
    const uint8_t* wb = wg + b * job.block_bytes;
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes), _MM_HINT_T0);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + qbytes + 16 * h)));
    if constexpr (!Q8) {
      __m256i lo[4], hi[4];
      for (int j = 0; j < 4; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 64 * j + 32 * h));
        lo[j] = _mm256_and_si256(v, mask4);
        hi[j] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask4);
      }
      for (int t = 0; t < NT; ++t) {
        const int8_t* y = a[t].q + b * 32;
        __m256i s16 = _mm256_maddubs_epi16(lo[0], bcast4(y));
        s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[0], bcast4(y + 16)));
        for (int j = 1; j < 4; ++j) {
          s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(lo[j], bcast4(y + 4 * j)));
          s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(hi[j], bcast4(y + 16 + 4 * j)));
        }
        __m256i s32 = _mm256_madd_epi16(s16, ones);
        if constexpr (kZero) s32 = _mm256_sub_epi32(s32, _mm256_slli_epi32(_mm256_set1_epi32(a[t].sum[b]), 3));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(d, _mm256_set1_ps(a[t].d[b])), acc[t]);
        if constexpr (kMin) {
          const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + qbytes + 32 + 16 * h)));
          acc[t] = _mm256_fmadd_ps(m, _mm256_set1_ps(a[t].s[b]), acc[t]);
        }
      }
    } else {
      for (int t = 0; t < NT; ++t) {
        const int8_t* y = a[t].q + b * 32;
        __m256i s32 = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j) {
          const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 64 * j + 32 * h));
          const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(bcast4(y + 4 * j), w));
          s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(p, ones));
        }
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(d, _mm256_set1_ps(a[t].d[b])), acc[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) store_rows(job.y + (t0 + t) * job.ldy + g * 16 + 8 * h, acc[t], nrows);
}

template <int Kind>
void gemm_t(const Job& job, int64_t g0, int64_t g1) {
  constexpr int kNT = 4;
  for (int64_t g = g0; g < g1; ++g) {
    for (int h = 0; h < 2; ++h) {
      const int nrows = static_cast<int>(std::min<int64_t>(8, job.rows - g * 16 - 8 * h));
      if (nrows <= 0) break;
      int64_t t = 0;
      for (; t + kNT <= job.n_tokens; t += kNT) tile<kNT, Kind>(job, g, h, t, nrows);
      switch (job.n_tokens - t) {
        case 3: tile<3, Kind>(job, g, h, t, nrows); break;
        case 2: tile<2, Kind>(job, g, h, t, nrows); break;
        case 1: tile<1, Kind>(job, g, h, t, nrows); break;
        default: break;
      }
    }
  }
}

}  // namespace

void gemm(const Job& job, int64_t g0, int64_t g1) {
  if (job.kind == Job::kQ8)
    gemm_t<2>(job, g0, g1);
  else if (job.has_min)
    gemm_t<1>(job, g0, g1);
  else
    gemm_t<0>(job, g0, g1);
}

void quantize(const float* x, uint8_t* dst, int64_t nb) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  auto* d = reinterpret_cast<float*>(dst + act_scales_offset(nb));
  float* s = d + nb;
  auto* sum = reinterpret_cast<int32_t*>(s + nb);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < nb; ++b) {
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(x + b * 32 + 8 * i);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float am = _mm_cvtss_f32(m4);
    const float db = am / 127.0f;
    const __m256 id = _mm256_set1_ps(am > 0.0f ? 127.0f / am : 0.0f);
    __m256i qi[4];
    for (int i = 0; i < 4; ++i)
      qi[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // |x*id| <= 127, so the packs never saturate.
    const __m256i p01 = _mm256_packs_epi32(qi[0], qi[1]);
    const __m256i p23 = _mm256_packs_epi32(qi[2], qi[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), p);
    const __m256i s32 = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    const int32_t acc = _mm_cvtsi128_si32(s4);
    d[b] = db;
    s[b] = db * static_cast<float>(acc);
    sum[b] = acc;
  }
}

}  // namespace loom::fast::avx2
