// Paged attention work items with AVX2 + F16C (head_dim % 8 == 0). One item =
// (q row, KV head): the KV head's `group` query heads are processed together.
// Per cache block: its K and V rows are widened to fp32 once (shared by the
// group), scores are computed 8 keys at a time (8 dot-product vectors folded
// by one transpose-add instead of 8 horizontal sums), then an online-softmax
// update (running max m, running sum l, accumulator rescaled by
// exp(m_old - m_new)), then P·V with the accumulator held in registers over
// the block's keys. A row's arithmetic depends only on its own keys, never
// on the other rows of the batch (batch invariance).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_online_avx2.h"

namespace loom::cpu::avx2 {

namespace {

// [sum(v[0]), ..., sum(v[7])]
__m256 hsum8x8(const __m256 v[8]) {
  const __m256 a01 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 a23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 a45 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 a67 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 b0123 = _mm256_hadd_ps(a01, a23);  // lanes 0-3: v0..v3 over 0-3 / 4-7 in the high half
  const __m256 b4567 = _mm256_hadd_ps(a45, a67);
  const __m256 lo = _mm256_permute2f128_ps(b0123, b4567, 0x20);
  const __m256 hi = _mm256_permute2f128_ps(b0123, b4567, 0x31);
  return _mm256_add_ps(lo, hi);
}

__m256 dot_lanes(const float* q, const float* k, int32_t d) {
  __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(q), _mm256_loadu_ps(k));
  for (int32_t i = 8; i < d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + i), acc);
  return acc;
}

// s[j] = scale * q·k[j] for the block's `count` fp32 key rows (stride d).
void block_scores(const float* q, const float* k, int32_t count, int32_t d, float scale, float* s) {
  const __m256 vscale = _mm256_set1_ps(scale);
  int32_t j = 0;
  for (; j + 8 <= count; j += 8) {
    // Each q chunk is loaded once for the 8 keys; the 8 lane sums stay in registers.
    const float* kj = k + j * d;
    __m256 lanes[8];
    const __m256 q0 = _mm256_loadu_ps(q);
    for (int32_t t = 0; t < 8; ++t) lanes[t] = _mm256_mul_ps(q0, _mm256_loadu_ps(kj + t * d));
    for (int32_t i = 8; i < d; i += 8) {
      const __m256 qi = _mm256_loadu_ps(q + i);
      for (int32_t t = 0; t < 8; ++t) lanes[t] = _mm256_fmadd_ps(qi, _mm256_loadu_ps(kj + t * d + i), lanes[t]);
    }
    _mm256_storeu_ps(s + j, _mm256_mul_ps(hsum8x8(lanes), vscale));
  }
  for (; j < count; ++j) s[j] = hsum8(dot_lanes(q, k + j * d, d)) * scale;
}

// acc[0..d) += sum_j p[j] * v[j] in key order, 32 (then 8) accumulator
// lanes held in registers across the block.
void block_pv(const float* p, const float* v, int32_t count, int32_t d, float* acc) {
  int32_t i = 0;
  for (; i + 32 <= d; i += 32) {
    __m256 a0 = _mm256_loadu_ps(acc + i), a1 = _mm256_loadu_ps(acc + i + 8);
    __m256 a2 = _mm256_loadu_ps(acc + i + 16), a3 = _mm256_loadu_ps(acc + i + 24);
    for (int32_t j = 0; j < count; ++j) {
      const __m256 w = _mm256_set1_ps(p[j]);
      const float* row = v + j * d + i;
      a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row), a0);
      a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 8), a1);
      a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 16), a2);
      a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(row + 24), a3);
    }
    _mm256_storeu_ps(acc + i, a0);
    _mm256_storeu_ps(acc + i + 8, a1);
    _mm256_storeu_ps(acc + i + 16, a2);
    _mm256_storeu_ps(acc + i + 24, a3);
  }
  for (; i < d; i += 8) {
    __m256 a = _mm256_loadu_ps(acc + i);
    for (int32_t j = 0; j < count; ++j)
      a = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(v + j * d + i), a);
    _mm256_storeu_ps(acc + i, a);
  }
}

// dst[j][0..d) = fp32 of the fp16 cache rows src + j * stride, j < count.
void widen_rows(const uint16_t* src, int64_t stride, int32_t count, int32_t d, float* dst) {
  for (int32_t j = 0; j < count; ++j) {
    const uint16_t* row = src + j * stride;
    for (int32_t i = 0; i < d; i += 8)
      _mm256_storeu_ps(dst + j * d + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + i))));
  }
}

}  // namespace

void attention_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end) {
  const int32_t hd = kv.head_dim, bs = kv.block_size;
  const int32_t group = a.n_heads / kv.n_kv_heads;
  const int64_t stride = static_cast<int64_t>(kv.n_kv_heads) * hd;  // between cache rows
  std::vector<float> acc(static_cast<size_t>(group) * hd);
  std::vector<float> scores(static_cast<size_t>(group) * bs);  // [group][bs]
  std::vector<float> kf(static_cast<size_t>(bs) * hd), vf(kf.size());  // the block, widened
  std::vector<float> m(group), l(group);

  for (int64_t item = begin; item < end; ++item) {
    const int64_t row = item / kv.n_kv_heads;
    const int32_t kv_head = static_cast<int32_t>(item % kv.n_kv_heads);
    // The group's query heads are consecutive: [group][hd] starting here.
    const int64_t head_offset = (row * a.n_heads + static_cast<int64_t>(kv_head) * group) * hd;
    const float* q = a.q + head_offset;
    std::fill(acc.begin(), acc.end(), 0.0f);
    std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
    std::fill(l.begin(), l.end(), 0.0f);

    const int64_t n_keys = a.pos0 + row + 1;
    for (int64_t start = 0; start < n_keys; start += bs) {
      const int64_t phys = a.block_table[start / bs];
      const auto count = static_cast<int32_t>(std::min<int64_t>(bs, n_keys - start));
      const int64_t base = phys * bs * stride + static_cast<int64_t>(kv_head) * hd;
      widen_rows(kv.k + base, stride, count, hd, kf.data());
      widen_rows(kv.v + base, stride, count, hd, vf.data());
      for (int32_t r = 0; r < group; ++r) {
        float* s = &scores[r * bs];
        block_scores(q + r * hd, kf.data(), count, hd, a.scale, s);
        online_softmax_update(s, count, m[r], l[r], &acc[r * hd], hd);
        block_pv(s, vf.data(), count, hd, &acc[r * hd]);
      }
    }

    float* out = a.out + head_offset;
    for (int32_t r = 0; r < group; ++r) {
      const float inv = 1.0f / l[r];
      for (int32_t i = 0; i < hd; ++i) out[r * hd + i] = acc[r * hd + i] * inv;
    }
  }
}

}  // namespace loom::cpu::avx2
