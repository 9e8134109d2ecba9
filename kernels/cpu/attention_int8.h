// Causal paged attention over an int8 KV cache (format: kernels/cpu/kv_quant.h).
// Same contract as the fp16 attention in attention.h (AttentionArgs, work
// items = (q row, KV head), validation, thread-split determinism); only the
// cache differs. Dequantization is on the fly, fp32 math throughout:
//   q.k   = scale_k * sum_i q_i * kq_i                       (q fp32)
//   out   = sum_j (p_j * scale_v_j) * vq_j / sum_j p_j       (online softmax)
#pragma once
#include <cstdint>

#include "kernels/cpu/attention.h"

namespace loom::cpu {

// One layer's int8 cache.
struct PagedKvInt8 {
  const int8_t* k = nullptr;        // [num_blocks][block_size][n_kv_heads][head_dim]
  const int8_t* v = nullptr;        // same shape as k
  const float* k_scale = nullptr;   // [num_blocks][block_size][n_kv_heads]
  const float* v_scale = nullptr;   // same shape as k_scale
  int32_t num_blocks = 0;
  int32_t block_size = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
};

struct PagedKvInt8Mut {
  int8_t* k = nullptr;
  int8_t* v = nullptr;
  float* k_scale = nullptr;
  float* v_scale = nullptr;
  int32_t num_blocks = 0;
  int32_t block_size = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  PagedKvInt8 view() const { return {k, v, k_scale, v_scale, num_blocks, block_size, n_kv_heads, head_dim}; }
};

// As the fp16 overloads in attention.h. The fast path needs AVX2 + FMA and
// head_dim % 8 == 0; otherwise each head runs the two-pass reference.
void attention_validate(const PagedKvInt8& kv, const AttentionArgs& a);
void attention_paged(const PagedKvInt8& kv, const AttentionArgs& a);
int64_t attention_work_items(const PagedKvInt8& kv, const AttentionArgs& a);
void attention_paged_items(const PagedKvInt8& kv, const AttentionArgs& a, int64_t begin, int64_t end);

// Quantizes fp32 rows k, v: [n][n_kv_heads][head_dim] (one scale per head)
// into positions pos0..pos0+n-1. Throws std::invalid_argument like kv_write.
void kv_write(const PagedKvInt8Mut& kv, const float* k, const float* v, int32_t n, int32_t pos0,
              const int32_t* block_table, int32_t block_table_len);

namespace ref {
// Two-pass reference per (row, head): fp32 scores scale_k * sum(q * kq) * a.scale,
// ref::softmax_inplace, fp32 sum of (p * scale_v) * vq. Validates first.
void attention_paged(const PagedKvInt8& kv, const AttentionArgs& a);
}  // namespace ref

}  // namespace loom::cpu
