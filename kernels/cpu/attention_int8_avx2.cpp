// int8 paged attention work items with AVX2 + FMA (head_dim % 8 == 0). Same
// walk as the fp16 path (attention_avx2.cpp): one item = (q row, KV head) with
// the KV head's whole GQA group, per cache block the scores, an online-softmax
// update, then P.V. int8 is widened to fp32 (vpmovsxbd + vcvtdq2ps) and the
// per-slot scales are applied once per dot (K) or folded into the weight (V).
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/cpu/attention_int8.h"
#include "kernels/cpu/attention_online_avx2.h"

namespace loom::cpu::avx2 {

namespace {

// 8 int8 values -> 8 floats.
inline __m256 load_i8x8(const int8_t* p) {
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
}

// sum_i q[i] * k[i] in fp32 (unscaled).
float dot_f32_i8(const float* q, const int8_t* k, int32_t d) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 16 <= d; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_i8x8(k + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load_i8x8(k + i + 8), acc1);
  }
  for (; i < d; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_i8x8(k + i), acc0);
  return hsum8(_mm256_add_ps(acc0, acc1));
}

// acc += w * v
void axpy_i8(float w, const int8_t* v, float* acc, int32_t d) {
  const __m256 vw = _mm256_set1_ps(w);
  for (int32_t i = 0; i < d; i += 8)
    _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(vw, load_i8x8(v + i), _mm256_loadu_ps(acc + i)));
}

}  // namespace

void attention_items(const PagedKvInt8& kv, const AttentionArgs& a, int64_t begin, int64_t end) {
  const int32_t hd = kv.head_dim, bs = kv.block_size, nkv = kv.n_kv_heads;
  const int32_t group = a.n_heads / nkv;
  const int64_t stride = static_cast<int64_t>(nkv) * hd;  // between cache rows, in elements
  std::vector<float> acc(static_cast<size_t>(group) * hd);
  std::vector<float> scores(static_cast<size_t>(group) * bs);  // [group][bs]
  std::vector<float> m(group), l(group);

  for (int64_t item = begin; item < end; ++item) {
    const int64_t row = item / nkv;
    const int32_t kv_head = static_cast<int32_t>(item % nkv);
    const int64_t head_offset = (row * a.n_heads + static_cast<int64_t>(kv_head) * group) * hd;
    const float* q = a.q + head_offset;  // the group's query heads: [group][hd]
    std::fill(acc.begin(), acc.end(), 0.0f);
    std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
    std::fill(l.begin(), l.end(), 0.0f);

    const int64_t end_key = a.pos0 + row + 1;
    for (int64_t start = first_key(a, row); start < end_key;) {
      const int64_t phys = a.block_table[start / bs];
      const int64_t in_block = start % bs;
      const auto count = static_cast<int32_t>(std::min<int64_t>(bs - in_block, end_key - start));
      // Scale index of the first key; key j at + j * nkv.
      const int64_t slot0 = (phys * bs + in_block) * nkv + kv_head;
      const int8_t* kb = kv.k + slot0 * hd;
      const int8_t* vb = kv.v + slot0 * hd;
      for (int32_t j = 0; j < count; ++j) {
        const float sk = kv.k_scale[slot0 + j * nkv];
        for (int32_t r = 0; r < group; ++r)
          scores[r * bs + j] = dot_f32_i8(q + r * hd, kb + j * stride, hd) * sk * a.scale;
      }
      for (int32_t r = 0; r < group; ++r)
        online_softmax_update(&scores[r * bs], count, m[r], l[r], &acc[r * hd], hd);
      for (int32_t j = 0; j < count; ++j) {
        const float sv = kv.v_scale[slot0 + j * nkv];
        for (int32_t r = 0; r < group; ++r) axpy_i8(scores[r * bs + j] * sv, vb + j * stride, &acc[r * hd], hd);
      }
      start += count;
    }

    float* out = a.out + head_offset;
    for (int32_t r = 0; r < group; ++r) {
      const float inv = 1.0f / l[r];
      for (int32_t i = 0; i < hd; ++i) out[r * hd + i] = acc[r * hd + i] * inv;
    }
  }
}

}  // namespace loom::cpu::avx2
