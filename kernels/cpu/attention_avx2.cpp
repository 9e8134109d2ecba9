// Paged attention work items with AVX2 + F16C (head_dim % 8 == 0). One item =
// (q row, KV head): the KV head's `group` query heads are processed together
// so each fp16 K/V row is widened once per item. Per cache block: scores for
// the block, then an online-softmax update (running max m, running sum l,
// accumulator rescaled by exp(m_old - m_new)), then P·V.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_online_avx2.h"

namespace loom::cpu::avx2 {

namespace {

float dot_f32_f16(const float* q, const uint16_t* k, int32_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 16 <= d; i += 16) {
    const __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
    const __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i + 8)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), k0, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), k1, acc1);
  }
  for (; i < d; i += 8) {
    const __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), k0, acc0);
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
}

// acc += w * v
void axpy_f16(float w, const uint16_t* v, float* acc, int32_t d) {
  const __m256 vw = _mm256_set1_ps(w);
  for (int32_t i = 0; i < d; i += 8) {
    const __m256 vv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + i)));
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(vw, vv, _mm256_loadu_ps(acc + i)));
  }
}

}  // namespace

void attention_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end) {
  const int32_t hd = kv.head_dim, bs = kv.block_size;
  const int32_t group = a.n_heads / kv.n_kv_heads;
  const int64_t stride = static_cast<int64_t>(kv.n_kv_heads) * hd;  // between cache rows
  std::vector<float> acc(static_cast<size_t>(group) * hd);
  std::vector<float> scores(static_cast<size_t>(group) * bs);  // [group][bs]
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
      const uint16_t* kb = kv.k + base;
      const uint16_t* vb = kv.v + base;
      for (int32_t j = 0; j < count; ++j) {
        for (int32_t r = 0; r < group; ++r) {
          scores[r * bs + j] = dot_f32_f16(q + r * hd, kb + j * stride, hd) * a.scale;
        }
      }
      for (int32_t r = 0; r < group; ++r) {
        online_softmax_update(&scores[r * bs], count, m[r], l[r], &acc[r * hd], hd);
      }
      for (int32_t j = 0; j < count; ++j) {
        for (int32_t r = 0; r < group; ++r) axpy_f16(scores[r * bs + j], vb + j * stride, &acc[r * hd], hd);
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
