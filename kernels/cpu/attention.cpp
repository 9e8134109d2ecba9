#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/attention_validate.h"
#include "kernels/cpu/f16.h"
#include "kernels/cpu/ggml_compat.h"

namespace loom::cpu {

namespace avx2 {  // attention_avx2.cpp; needs head_dim % 8 == 0
void attention_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end);
}  // namespace avx2

namespace detail {

void attention_fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string(fn) + ": " + what);
}

void validate_layout(const char* fn, int32_t num_blocks, int32_t block_size, int32_t n_kv_heads,
                     int32_t head_dim, bool has_k, bool has_v) {
  if (!has_k || !has_v) attention_fail(fn, "kv.k and kv.v must not be null");
  if (num_blocks <= 0)
    attention_fail(fn, "kv.num_blocks must be > 0, got " + std::to_string(num_blocks));
  if (block_size <= 0)
    attention_fail(fn, "kv.block_size must be > 0, got " + std::to_string(block_size));
  if (n_kv_heads <= 0)
    attention_fail(fn, "kv.n_kv_heads must be > 0, got " + std::to_string(n_kv_heads));
  if (head_dim <= 0) attention_fail(fn, "kv.head_dim must be > 0, got " + std::to_string(head_dim));
}

void validate_table(const char* fn, const int32_t* table, int32_t table_len, int64_t end_pos,
                    int32_t block_size, int32_t num_blocks, int64_t begin_pos) {
  const int64_t needed = (end_pos + block_size - 1) / block_size;
  if (needed > 0 && table == nullptr) attention_fail(fn, "block_table must not be null");
  if (table_len < needed) {
    attention_fail(fn, "block_table has " + std::to_string(table_len) + " entries, positions < " +
                           std::to_string(end_pos) + " need " + std::to_string(needed));
  }
  for (int64_t b = begin_pos / block_size; b < needed; ++b) {
    if (table[b] < 0 || table[b] >= num_blocks) {
      attention_fail(fn, "block_table[" + std::to_string(b) + "] = " + std::to_string(table[b]) +
                             " is outside [0, " + std::to_string(num_blocks) + ")");
    }
  }
}

void validate_args(const char* fn, const AttentionArgs& a, int32_t n_kv_heads, int32_t block_size,
                   int32_t num_blocks) {
  if (a.n_q < 0) attention_fail(fn, "n_q must be >= 0, got " + std::to_string(a.n_q));
  if (a.pos0 < 0) attention_fail(fn, "pos0 must be >= 0, got " + std::to_string(a.pos0));
  if (a.window < 0) attention_fail(fn, "window must be >= 0, got " + std::to_string(a.window));
  if (a.n_heads <= 0 || a.n_heads % n_kv_heads != 0) {
    attention_fail(fn, "n_heads (" + std::to_string(a.n_heads) +
                           ") must be a positive multiple of n_kv_heads (" +
                           std::to_string(n_kv_heads) + ")");
  }
  if (a.n_q > 0 && (a.q == nullptr || a.out == nullptr))
    attention_fail(fn, "q and out must not be null");
  validate_table(fn, a.block_table, a.block_table_len, static_cast<int64_t>(a.pos0) + a.n_q,
                 block_size, num_blocks, first_kept_key(a));
}

}  // namespace detail

namespace {

using detail::attention_fail;
using detail::validate_layout;
using detail::validate_table;

int64_t row_stride(const PagedKv& kv) {
  return static_cast<int64_t>(kv.n_kv_heads) * kv.head_dim;
}

// Element offset of (position, kv head) in the cache.
int64_t cache_offset(const PagedKv& kv, const int32_t* table, int64_t pos, int32_t kv_head) {
  const int64_t phys = table[pos / kv.block_size];
  return (phys * kv.block_size + pos % kv.block_size) * row_stride(kv) +
         static_cast<int64_t>(kv_head) * kv.head_dim;
}

// One (row, head) the way llama.cpp's non-flash CPU attention computes it:
// the reference the fast path must match bit for bit, and the fallback
// without AVX2. Q is rounded to fp16 (the KQ matmul's fp16 copy of its
// right-hand side); scores are fp16 dots in the order ggml_compat picks for
// this chunk; softmax as ggml_soft_max (scale, max, ggml::expf, per-16 sums
// in double); the probabilities are rounded to fp16 (the KQV matmul's copy)
// and summed against V in the same order.
void attention_head_ref(const PagedKv& kv, const AttentionArgs& a, int32_t row, int32_t head,
                        std::vector<float>& scores) {
  const int32_t hd = kv.head_dim;
  const int32_t kv_head = head / (a.n_heads / kv.n_kv_heads);
  const float* q = a.q + (static_cast<int64_t>(row) * a.n_heads + head) * hd;
  // Keys [lo, end): lo a multiple of 64 at or below the window's first key,
  // the keys before `first` masked (see kWindowAlign).
  const int64_t first = first_key(a, row);
  const int64_t lo = first / kWindowAlign * kWindowAlign;
  const int64_t n_keys = static_cast<int64_t>(a.pos0) + row + 1 - lo;
  const int64_t n_masked = first - lo;
  const ggml::F16Dot kq_order = ggml::f16_dot_for(a.n_q, hd);
  const ggml::F16Dot pv_order = ggml::f16_dot_for(a.n_q, 16);  // llama.cpp pads the key count to 256
  std::vector<float> q16(hd), row_f(hd);
  for (int32_t i = 0; i < hd; ++i) q16[i] = fp16_to_fp32(fp32_to_fp16(q[i]));
  scores.assign(static_cast<size_t>((n_keys + 63) / 64 * 64), 0.0f);
  float max = -INFINITY;
  for (int64_t p = 0; p < n_keys; ++p) {
    if (p < n_masked) {
      scores[p] = -INFINITY;
      continue;
    }
    const uint16_t* k = kv.k + cache_offset(kv, a.block_table, lo + p, kv_head);
    for (int32_t i = 0; i < hd; ++i) row_f[i] = fp16_to_fp32(k[i]);
    scores[p] = ggml::dot_f16(kq_order, q16.data(), row_f.data(), hd) * a.scale;
    max = std::max(max, scores[p]);
  }
  double sum = 0;
  for (int64_t c = 0; c < n_keys; c += 16) {
    float e[16] = {};
    for (int64_t p = c; p < std::min(c + 16, n_keys); ++p) e[p - c] = scores[p] = ggml::expf(scores[p] - max);
    sum += ggml::tree16(e);
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t p = 0; p < n_keys; ++p) scores[p] = fp16_to_fp32(fp32_to_fp16(scores[p] * inv));
  float* out = a.out + (static_cast<int64_t>(row) * a.n_heads + head) * hd;
  // V transposed: column i over the keys, zeros past n_keys and where masked.
  const auto keys = static_cast<int64_t>(scores.size());
  std::vector<float> v_cols(static_cast<size_t>(hd) * keys, 0.0f);
  for (int64_t p = n_masked; p < n_keys; ++p) {
    const uint16_t* v = kv.v + cache_offset(kv, a.block_table, lo + p, kv_head);
    for (int32_t i = 0; i < hd; ++i) v_cols[i * keys + p] = fp16_to_fp32(v[i]);
  }
  for (int32_t i = 0; i < hd; ++i) out[i] = ggml::dot_f16(pv_order, &v_cols[i * keys], scores.data(), keys);
}

}  // namespace

void attention_validate(const PagedKv& kv, const AttentionArgs& a) {
  constexpr const char* fn = "attention_paged";
  validate_layout(fn, kv.num_blocks, kv.block_size, kv.n_kv_heads, kv.head_dim, kv.k, kv.v);
  detail::validate_args(fn, a, kv.n_kv_heads, kv.block_size, kv.num_blocks);
}

int64_t attention_work_items(const PagedKv& kv, const AttentionArgs& a) {
  return static_cast<int64_t>(a.n_q) * kv.n_kv_heads;
}

void attention_paged_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end) {
  if (begin >= end) return;
  if (cpu_has_avx2_fma_f16c() && kv.head_dim % 8 == 0)
    return avx2::attention_items(kv, a, begin, end);
  detail::for_each_item_head(kv, a, begin, end, attention_head_ref);
}

void attention_paged(const PagedKv& kv, const AttentionArgs& a) {
  attention_validate(kv, a);
  attention_paged_items(kv, a, 0, attention_work_items(kv, a));
}

namespace ref {
void attention_paged(const PagedKv& kv, const AttentionArgs& a) {
  attention_validate(kv, a);
  detail::for_each_item_head(kv, a, 0, attention_work_items(kv, a), attention_head_ref);
}
}  // namespace ref

void kv_write(const PagedKvMut& kv, const float* k, const float* v, int32_t n, int32_t pos0,
              const int32_t* block_table, int32_t block_table_len) {
  constexpr const char* fn = "kv_write";
  validate_layout(fn, kv.num_blocks, kv.block_size, kv.n_kv_heads, kv.head_dim, kv.k, kv.v);
  if (n < 0) attention_fail(fn, "n must be >= 0, got " + std::to_string(n));
  if (pos0 < 0) attention_fail(fn, "pos0 must be >= 0, got " + std::to_string(pos0));
  if (n > 0 && (k == nullptr || v == nullptr)) attention_fail(fn, "k and v rows must not be null");
  validate_table(fn, block_table, block_table_len, static_cast<int64_t>(pos0) + n, kv.block_size,
                 kv.num_blocks, pos0);
  const PagedKv view = kv.view();
  const int64_t stride = row_stride(view);
  for (int32_t t = 0; t < n; ++t) {
    const int64_t dst = cache_offset(view, block_table, static_cast<int64_t>(pos0) + t, 0);
    fp32_to_fp16_row(k + t * stride, kv.k + dst, stride);
    fp32_to_fp16_row(v + t * stride, kv.v + dst, stride);
  }
}

}  // namespace loom::cpu
