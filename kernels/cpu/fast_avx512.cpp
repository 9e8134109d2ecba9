// AVX-512 (VNNI) kernels of the fast layout (fast_kernels.h). Lane r of a zmm
// is row r of a 16-row group; vpdpbusd multiplies the rows' unsigned quants
// (Q4 nibbles; Q8_0 bytes + 128, corrected by 128 * sum a) with 4 broadcast
// activation bytes. A tile is 16 rows x NT tokens: each weight block is
// unpacked once per tile.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/fast_kernels.h"

namespace loom::fast::avx512 {
namespace {

// 4 activation bytes to every lane, as one broadcast from memory.
inline __m512i bcast4(const int8_t* p) {
  return _mm512_castps_si512(_mm512_broadcastss_ps(_mm_load_ss(reinterpret_cast<const float*>(p))));
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

// Kind: 0 Q4_0 (zero 8), 1 Q4_1 (mins), 2 Q8_0 (zero 128 after the flip).
template <int NT, int Kind>
void tile(const Job& job, int64_t g, int64_t t0, __mmask16 rows_mask) {
  constexpr bool Q8 = Kind == 2, kMin = Kind == 1;
  const uint8_t* wg = job.w + g * job.group_bytes;
  constexpr size_t qbytes = Q8 ? 512 : 256;
  constexpr int nchunks = Q8 ? 8 : 4;
  constexpr int zero = Q8 ? 128 : Kind == 0 ? 8 : 0;
  const __m512i mask4 = _mm512_set1_epi8(0x0F);
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  Act a[NT];
  for (int t = 0; t < NT; ++t) a[t] = act_row(job, t0 + t);
  __m512 acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < job.nb; ++b) {
    const uint8_t* wb = wg + b * job.block_bytes;
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes + 128), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes + 192), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wb + 4 * job.block_bytes + 256), _MM_HINT_T0);
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + qbytes)));
    __m512i w[8];
    int off[8];
    for (int j = 0; j < nchunks; ++j) {
      const __m512i v = _mm512_loadu_si512(wb + 64 * j);
      if constexpr (Q8) {
        w[j] = _mm512_xor_si512(v, flip);
        off[j] = 4 * j;
      } else {
        w[2 * j] = _mm512_and_si512(v, mask4);
        off[2 * j] = 4 * j;
        w[2 * j + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask4);
        off[2 * j + 1] = 16 + 4 * j;
      }
    }
    for (int t = 0; t < NT; ++t) {
      const int8_t* y = a[t].q + b * 32;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_set1_epi32(-zero * a[t].sum[b]), w[0], bcast4(y + off[0]));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[1], bcast4(y + off[1]));
      for (int j = 2; j < 8; j += 2) {
        s0 = _mm512_dpbusd_epi32(s0, w[j], bcast4(y + off[j]));
        s1 = _mm512_dpbusd_epi32(s1, w[j + 1], bcast4(y + off[j + 1]));
      }
      const __m512i s32 = _mm512_add_epi32(s0, s1);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s32), _mm512_mul_ps(d, _mm512_set1_ps(a[t].d[b])), acc[t]);
      if constexpr (kMin) {
        const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + qbytes + 32)));
        acc[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(a[t].s[b]), acc[t]);
      }
    }
  }
  for (int t = 0; t < NT; ++t) _mm512_mask_storeu_ps(job.y + (t0 + t) * job.ldy + g * 16, rows_mask, acc[t]);
}

template <int Kind>
void gemm_t(const Job& job, int64_t g0, int64_t g1) {
  constexpr int kNT = 8;
  for (int64_t g = g0; g < g1; ++g) {
    const int nrows = static_cast<int>(std::min<int64_t>(16, job.rows - g * 16));
    const __mmask16 m = static_cast<__mmask16>((1u << nrows) - 1);
    int64_t t = 0;
    for (; t + kNT <= job.n_tokens; t += kNT) tile<kNT, Kind>(job, g, t, m);
    switch (job.n_tokens - t) {
      case 7: tile<7, Kind>(job, g, t, m); break;
      case 6: tile<6, Kind>(job, g, t, m); break;
      case 5: tile<5, Kind>(job, g, t, m); break;
      case 4: tile<4, Kind>(job, g, t, m); break;
      case 3: tile<3, Kind>(job, g, t, m); break;
      case 2: tile<2, Kind>(job, g, t, m); break;
      case 1: tile<1, Kind>(job, g, t, m); break;
      default: break;
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

// Same bytes as avx2::quantize (and the scalar one).
void quantize(const float* x, uint8_t* dst, int64_t nb) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  auto* d = reinterpret_cast<float*>(dst + act_scales_offset(nb));
  float* s = d + nb;
  auto* sum = reinterpret_cast<int32_t*>(s + nb);
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32);
    const __m512 v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float am = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float db = am / 127.0f;
    const __m512 id = _mm512_set1_ps(am > 0.0f ? 127.0f / am : 0.0f);
    const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
    const int32_t acc = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    d[b] = db;
    s[b] = db * static_cast<float>(acc);
    sum[b] = acc;
  }
}

}  // namespace loom::fast::avx512
