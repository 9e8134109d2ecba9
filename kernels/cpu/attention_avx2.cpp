// Paged attention work items with AVX2 + F16C (head_dim % 8 == 0), in
// llama.cpp's arithmetic order (see attention_head_ref in attention.cpp for
// the plain version and ggml_compat.h for why): one item = (q row, KV head),
// each of the KV head's query heads in turn, two passes over the keys:
//   1. scores: fp16-rounded q against each fp16 K row, summed in the order
//      ggml_compat picks for this chunk (16 lanes for a prefill chunk, 4x16
//      for a single decode row), times scale;
//   2. softmax with ggml's exp and per-16-key sums in double, probabilities
//      rounded to fp16, then P·V accumulated into one slot per key index mod
//      16 (or 64), folded in ggml's order.
// A row's arithmetic depends only on its own keys, never on the other rows
// of the batch (batch invariance).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/f16.h"
#include "kernels/cpu/ggml_compat_avx2.h"

namespace loom::cpu::avx2 {

namespace {

using ggml::F16Dot;
using ggml::avx2::round_fp16;
using ggml::avx2::tree16;

inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// q (already fp16-rounded floats) · k (fp16) over d elements, in `order`.
float dot_q_k(F16Dot order, const float* q, const uint16_t* k, int32_t d) {
  if (order == F16Dot::kTiled16) {
    __m256 lo = _mm256_mul_ps(_mm256_loadu_ps(q), load_f16(k));
    __m256 hi = _mm256_mul_ps(_mm256_loadu_ps(q + 8), load_f16(k + 8));
    for (int32_t i = 16; i < d; i += 16) {
      lo = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_f16(k + i), lo);
      hi = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load_f16(k + i + 8), hi);
    }
    return tree16(lo, hi);
  }
  const int32_t np = d & ~63;
  __m256 acc[4][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
  for (int32_t i = 0; i < np; i += 64)
    for (int j = 0; j < 4; ++j)
      for (int h = 0; h < 2; ++h) {
        const int32_t at = i + 16 * j + 8 * h;
        acc[j][h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + at), load_f16(k + at), acc[j][h]);
      }
  __m256 x[2];
  for (int h = 0; h < 2; ++h)
    x[h] = _mm256_add_ps(_mm256_add_ps(acc[0][h], acc[2][h]), _mm256_add_ps(acc[1][h], acc[3][h]));
  double sum = tree16(x[0], x[1]);
  for (int32_t i = np; i < d; ++i) sum += static_cast<double>(q[i] * fp16_to_fp32(k[i]));
  return static_cast<float>(sum);
}

// scores[j] = scale * q·k_j for keys j < n (cache row offsets in rows[]).
void scores_for_head(F16Dot order, const float* __restrict q, const uint16_t* k_base,
                     const int64_t* rows, int64_t n, int32_t d, float scale,
                     float* __restrict scores) {
  for (int64_t j = 0; j < n; ++j) scores[j] = dot_q_k(order, q, k_base + rows[j], d) * scale;
}

// slots[s][0, d) = sum over keys j = s, s + n_slots, ... (skip <= j < n) of
// p_j * v_j, one fma chain per slot and column (ggml's lanes), accumulated in
// registers 64 columns at a time. Keys below skip are masked (p_j = 0, and
// fma(0, v, acc) = acc), so they are left out.
void pv_slots(const float* p, const uint16_t* v_base, const int64_t* rows, int64_t skip, int64_t n,
              int32_t d, int n_slots, float* slots) {
  for (int s = 0; s < n_slots; ++s) {
    const int64_t j0 = s + std::max<int64_t>(0, (skip - s + n_slots - 1) / n_slots) * n_slots;
    for (int32_t i0 = 0; i0 < d; i0 += 64) {
      const int chunks = std::min<int32_t>(64, d - i0) / 8;
      __m256 acc[8];
      for (int c = 0; c < 8; ++c) acc[c] = _mm256_setzero_ps();
      for (int64_t j = j0; j < n; j += n_slots) {
        const uint16_t* v = v_base + rows[j] + i0;
        const __m256 pj = _mm256_set1_ps(p[j]);
        for (int c = 0; c < chunks; ++c) acc[c] = _mm256_fmadd_ps(load_f16(v + 8 * c), pj, acc[c]);
      }
      for (int c = 0; c < chunks; ++c)
        _mm256_storeu_ps(slots + static_cast<int64_t>(s) * d + i0 + 8 * c, acc[c]);
    }
  }
}

// Turns scores s[0, n) into fp16-rounded probabilities; s must have room up to
// n rounded up to 16 (those entries become 0).
void softmax_to_fp16(float* s, int64_t n) {
  float max = -INFINITY;
  for (int64_t p = 0; p < n; ++p) max = std::max(max, s[p]);
  const int64_t padded = (n + 15) / 16 * 16;
  std::fill(s + n, s + padded, max);  // finite inputs for the padding lanes, zeroed below
  const __m256 vmax = _mm256_set1_ps(max);
  double sum = 0;
  for (int64_t c = 0; c < padded; c += 16) {
    __m256 e[2];
    for (int h = 0; h < 2; ++h) {
      const int64_t at = c + 8 * h;
      e[h] = ggml::avx2::expf8(_mm256_sub_ps(_mm256_loadu_ps(s + at), vmax));
      if (at + 8 > n) {
        const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(at)),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 live = _mm256_castsi256_ps(
            _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), idx));
        e[h] = _mm256_and_ps(e[h], live);
      }
      _mm256_storeu_ps(s + at, e[h]);
    }
    sum += tree16(e[0], e[1]);
  }
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  for (int64_t c = 0; c < padded; c += 8)
    _mm256_storeu_ps(s + c, round_fp16(_mm256_mul_ps(_mm256_loadu_ps(s + c), inv)));
}

// out[0, d) = vertical tree16 of the 16 slot rows at slots (stride d).
void fold16(const float* slots, int32_t d, float* out) {
  for (int32_t i = 0; i < d; i += 8) {
    __m256 a[8];
    for (int k = 0; k < 8; ++k)
      a[k] = _mm256_add_ps(_mm256_loadu_ps(slots + (k + 8) * d + i),
                           _mm256_loadu_ps(slots + k * d + i));
    for (int k = 0; k < 4; ++k) a[k] = _mm256_add_ps(a[k + 4], a[k]);
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_add_ps(a[0], a[2]), _mm256_add_ps(a[1], a[3])));
  }
}

// Folds 64 vec_dot slots to the 16 lanes (0+2)+(1+3), in place in slots[0, 16).
void fold64_to_16(float* slots, int32_t d) {
  for (int l = 0; l < 16; ++l)
    for (int32_t i = 0; i < d; i += 8) {
      auto at = [&](int s) { return _mm256_loadu_ps(slots + s * d + i); };
      _mm256_storeu_ps(slots + l * d + i, _mm256_add_ps(_mm256_add_ps(at(l), at(l + 32)),
                                                        _mm256_add_ps(at(l + 16), at(l + 48))));
    }
}

struct Scratch {
  std::vector<float> q16, scores, slots;
  std::vector<int64_t> rows;  // cache offset of each key's row for this KV head
};

}  // namespace

void attention_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end) {
  const int32_t hd = kv.head_dim, bs = kv.block_size;
  const int32_t group = a.n_heads / kv.n_kv_heads;
  const int64_t stride = static_cast<int64_t>(kv.n_kv_heads) * hd;  // between cache rows
  const F16Dot kq_order = ggml::f16_dot_for(a.n_q, hd);
  const int n_slots = ggml::f16_dot_for(a.n_q, 16) == F16Dot::kTiled16 ? 16 : 64;
  thread_local Scratch sc;
  sc.q16.resize(hd);
  sc.slots.resize(static_cast<size_t>(64) * hd);

  for (int64_t item = begin; item < end; ++item) {
    const int64_t row = item / kv.n_kv_heads;
    const int32_t kv_head = static_cast<int32_t>(item % kv.n_kv_heads);
    // Keys lo, lo + 1, ... as indices 0, 1, ...; the first n_masked are
    // outside the window (see kWindowAlign).
    const int64_t first = first_key(a, row);
    const int64_t lo = first / kWindowAlign * kWindowAlign;
    const int64_t n_keys = a.pos0 + row + 1 - lo;
    const int64_t n_masked = first - lo;
    sc.scores.resize(static_cast<size_t>((n_keys + 15) / 16 * 16));
    sc.rows.resize(static_cast<size_t>(n_keys));
    for (int64_t start = first; start < lo + n_keys;) {  // one division per block
      const int64_t in_block = start % bs;
      const int64_t base = static_cast<int64_t>(a.block_table[start / bs]) * bs * stride +
                           static_cast<int64_t>(kv_head) * hd;
      const int64_t stop = std::min<int64_t>(start - in_block + bs, lo + n_keys);
      for (int64_t j = start; j < stop; ++j) sc.rows[j - lo] = base + (j - start + in_block) * stride;
      start = stop;
    }
    for (int32_t r = 0; r < group; ++r) {
      const int64_t head_offset =
          (row * a.n_heads + static_cast<int64_t>(kv_head) * group + r) * hd;
      for (int32_t i = 0; i < hd; i += 8)
        _mm256_storeu_ps(&sc.q16[i], round_fp16(_mm256_loadu_ps(a.q + head_offset + i)));
      std::fill_n(sc.scores.begin(), n_masked, -INFINITY);
      scores_for_head(kq_order, sc.q16.data(), kv.k, sc.rows.data() + n_masked, n_keys - n_masked, hd,
                      a.scale, sc.scores.data() + n_masked);
      softmax_to_fp16(sc.scores.data(), n_keys);
      pv_slots(sc.scores.data(), kv.v, sc.rows.data(), n_masked, n_keys, hd, n_slots, sc.slots.data());
      if (n_slots == 64) fold64_to_16(sc.slots.data(), hd);
      fold16(sc.slots.data(), hd, a.out + head_offset);
    }
  }
}

}  // namespace loom::cpu::avx2
