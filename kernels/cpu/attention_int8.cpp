#include "kernels/cpu/attention_int8.h"

#include <string>
#include <vector>

#include "kernels/cpu/attention_validate.h"
#include "kernels/cpu/f16.h"
#include "kernels/cpu/kv_quant.h"
#include "kernels/cpu/softmax.h"

namespace loom::cpu {

namespace avx2 {  // attention_int8_avx2.cpp; needs head_dim % 8 == 0
void attention_items(const PagedKvInt8& kv, const AttentionArgs& a, int64_t begin, int64_t end);
}  // namespace avx2

namespace {

constexpr const char* kFn = "attention_paged(int8)";

// Index of (position, kv head)'s scale; times head_dim, of its first element.
int64_t slot_index(const PagedKvInt8& kv, const int32_t* table, int64_t pos, int32_t kv_head) {
  const int64_t phys = table[pos / kv.block_size];
  return (phys * kv.block_size + pos % kv.block_size) * kv.n_kv_heads + kv_head;
}

void validate_layout(const char* fn, const PagedKvInt8& kv) {
  detail::validate_layout(fn, kv.num_blocks, kv.block_size, kv.n_kv_heads, kv.head_dim, kv.k, kv.v);
  if (!kv.k_scale || !kv.v_scale)
    detail::attention_fail(fn, "kv.k_scale and kv.v_scale must not be null");
}

// Two-pass attention for one (row, head), dequantizing on the fly: the
// reference the fast path is checked against, and the fallback without AVX2.
void attention_head_ref(const PagedKvInt8& kv, const AttentionArgs& a, int32_t row, int32_t head,
                        std::vector<float>& scores) {
  const int32_t hd = kv.head_dim;
  const int32_t kv_head = head / (a.n_heads / kv.n_kv_heads);
  const float* q = a.q + (static_cast<int64_t>(row) * a.n_heads + head) * hd;
  const int64_t first = first_key(a, row);
  const int64_t n_keys = static_cast<int64_t>(a.pos0) + row + 1 - first;  // keys first, first + 1, ...
  scores.resize(n_keys);
  for (int64_t p = 0; p < n_keys; ++p) {
    const int64_t slot = slot_index(kv, a.block_table, first + p, kv_head);
    const int8_t* k = kv.k + slot * hd;
    float dot = 0.0f;
    for (int32_t i = 0; i < hd; ++i) dot += q[i] * static_cast<float>(k[i]);
    scores[p] = dot * kv.k_scale[slot] * a.scale;
  }
  ref::softmax_inplace(scores.data(), n_keys);
  float* out = a.out + (static_cast<int64_t>(row) * a.n_heads + head) * hd;
  for (int32_t i = 0; i < hd; ++i) out[i] = 0.0f;
  for (int64_t p = 0; p < n_keys; ++p) {
    const int64_t slot = slot_index(kv, a.block_table, first + p, kv_head);
    const int8_t* v = kv.v + slot * hd;
    const float w = scores[p] * kv.v_scale[slot];
    for (int32_t i = 0; i < hd; ++i) out[i] += w * static_cast<float>(v[i]);
  }
}

}  // namespace

void attention_validate(const PagedKvInt8& kv, const AttentionArgs& a) {
  validate_layout(kFn, kv);
  detail::validate_args(kFn, a, kv.n_kv_heads, kv.block_size, kv.num_blocks);
}

int64_t attention_work_items(const PagedKvInt8& kv, const AttentionArgs& a) {
  return static_cast<int64_t>(a.n_q) * kv.n_kv_heads;
}

void attention_paged_items(const PagedKvInt8& kv, const AttentionArgs& a, int64_t begin,
                           int64_t end) {
  if (begin >= end) return;
  if (cpu_has_avx2_fma_f16c() && kv.head_dim % 8 == 0)
    return avx2::attention_items(kv, a, begin, end);
  detail::for_each_item_head(kv, a, begin, end, attention_head_ref);
}

void attention_paged(const PagedKvInt8& kv, const AttentionArgs& a) {
  attention_validate(kv, a);
  attention_paged_items(kv, a, 0, attention_work_items(kv, a));
}

namespace ref {
void attention_paged(const PagedKvInt8& kv, const AttentionArgs& a) {
  attention_validate(kv, a);
  detail::for_each_item_head(kv, a, 0, attention_work_items(kv, a), attention_head_ref);
}
}  // namespace ref

void kv_write(const PagedKvInt8Mut& kv, const float* k, const float* v, int32_t n, int32_t pos0,
              const int32_t* block_table, int32_t block_table_len) {
  constexpr const char* fn = "kv_write(int8)";
  const PagedKvInt8 view = kv.view();
  validate_layout(fn, view);
  if (n < 0) detail::attention_fail(fn, "n must be >= 0, got " + std::to_string(n));
  if (pos0 < 0) detail::attention_fail(fn, "pos0 must be >= 0, got " + std::to_string(pos0));
  if (n > 0 && (k == nullptr || v == nullptr))
    detail::attention_fail(fn, "k and v rows must not be null");
  detail::validate_table(fn, block_table, block_table_len, static_cast<int64_t>(pos0) + n,
                         kv.block_size, kv.num_blocks, pos0);
  const int64_t row = static_cast<int64_t>(kv.n_kv_heads) * kv.head_dim;
  for (int32_t t = 0; t < n; ++t) {
    // A token's heads are contiguous in the cache: one row of n_kv_heads slots.
    const int64_t slot = slot_index(view, block_table, static_cast<int64_t>(pos0) + t, 0);
    kv_quantize_rows(k + t * row, kv.k + slot * kv.head_dim, kv.k_scale + slot, 1, kv.n_kv_heads,
                     kv.head_dim);
    kv_quantize_rows(v + t * row, kv.v + slot * kv.head_dim, kv.v_scale + slot, 1, kv.n_kv_heads,
                     kv.head_dim);
  }
}

}  // namespace loom::cpu
