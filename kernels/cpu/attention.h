// Causal attention of one sequence's new tokens against its paged fp16 KV
// cache; covers prefill chunks (n_q > 1) and decode (n_q == 1).
//
// Numerics: llama.cpp's non-flash CPU attention, bit for bit (see
// ggml_compat.h): Q rounded to fp16, fp16 K dots in the order llama.cpp uses
// for this chunk size, softmax with its exp and per-16 sums in double,
// probabilities rounded to fp16, P·V in the same order as the dots.
//
// One work item = (query row, KV head), covering that KV head's GQA group.
// An item's result does not depend on which items share a call, so splitting
// items over threads gives bit-identical output.
#pragma once
#include <cstdint>

namespace loom::cpu {

// One layer's cache. K and V: [num_blocks][block_size][n_kv_heads][head_dim]
// fp16 bits.
struct PagedKv {
  const uint16_t* k = nullptr;
  const uint16_t* v = nullptr;
  int32_t num_blocks = 0;  // physical blocks in the pool; block_table entries must be below it
  int32_t block_size = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
};

struct PagedKvMut {
  uint16_t* k = nullptr;
  uint16_t* v = nullptr;
  int32_t num_blocks = 0;
  int32_t block_size = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  PagedKv view() const { return {k, v, num_blocks, block_size, n_kv_heads, head_dim}; }
};

struct AttentionArgs {
  const float* q = nullptr;  // [n_q][n_heads][head_dim]
  int32_t n_q = 0;
  int32_t n_heads = 0;  // multiple of n_kv_heads; head h reads KV head h / (n_heads / n_kv_heads)
  int32_t pos0 = 0;     // position of q row 0; row i attends to positions [0, pos0 + i]
  const int32_t* block_table = nullptr;  // [block_table_len] logical block -> physical block
  int32_t block_table_len = 0;           // must cover positions [first_kept_key(a), pos0 + n_q)
  float scale = 1.0f;                    // usually 1/sqrt(head_dim)
  float* out = nullptr;                  // [n_q][n_heads][head_dim]
  int32_t window = 0;  // > 0: sliding window, row i attends only to [pos0 + i - window + 1, pos0 + i]
};

// The oldest key position query row `row` attends to (0 without a window).
inline int64_t first_key(const AttentionArgs& a, int64_t row) {
  const int64_t pos = static_cast<int64_t>(a.pos0) + row;
  return a.window > 0 && pos >= a.window ? pos - a.window + 1 : 0;
}

// The fp16 path walks keys from first_key rounded down to a multiple of 64
// (the keys in between are masked): llama.cpp masks out-of-window keys in
// place, so keeping each key's index mod 64 keeps its sum lanes, and its
// bits. The oldest position any row of `a` reads, so the oldest a cache must
// keep.
inline constexpr int64_t kWindowAlign = 64;
inline int64_t first_kept_key(const AttentionArgs& a) { return first_key(a, 0) / kWindowAlign * kWindowAlign; }

// Throws std::invalid_argument naming the bad field (null pointers, shapes,
// a block table too short or with an entry outside [0, num_blocks)).
void attention_validate(const PagedKv& kv, const AttentionArgs& a);

// attention_validate, then every work item on the calling thread.
void attention_paged(const PagedKv& kv, const AttentionArgs& a);

// Threading hook: items are (q row, KV head) pairs, item = row * n_kv_heads +
// kv_head. Call attention_validate once, then attention_paged_items on any
// partition of [0, attention_work_items) from any threads.
int64_t attention_work_items(const PagedKv& kv, const AttentionArgs& a);
void attention_paged_items(const PagedKv& kv, const AttentionArgs& a, int64_t begin, int64_t end);

// Stores fp32 rows k, v: [n][n_kv_heads][head_dim] for positions pos0..pos0+n-1
// into the cache (rounded to fp16, nearest even). Throws std::invalid_argument
// on bad shapes or a block table that does not cover the positions.
void kv_write(const PagedKvMut& kv, const float* k, const float* v, int32_t n, int32_t pos0,
              const int32_t* block_table, int32_t block_table_len);

namespace ref {
// The same arithmetic in plain scalar code, (row, head) at a time; the fast
// path must match it bit for bit. Validates like attention_paged.
void attention_paged(const PagedKv& kv, const AttentionArgs& a);
}  // namespace ref

}  // namespace loom::cpu
