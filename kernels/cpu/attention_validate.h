// Checks and loops shared by the fp16 and int8 paged attention
// (attention.cpp, attention_int8.cpp); internal to kernels/cpu. The checks
// throw std::invalid_argument("<fn>: <what>").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/attention.h"

namespace loom::cpu::detail {

[[noreturn]] void attention_fail(const char* fn, const std::string& what);

void validate_layout(const char* fn, int32_t num_blocks, int32_t block_size, int32_t n_kv_heads,
                     int32_t head_dim, bool has_k, bool has_v);

// Every logical block holding a position in [begin_pos, end_pos) must map to
// a real block (blocks before begin_pos may be gone: a sliding window's).
void validate_table(const char* fn, const int32_t* table, int32_t table_len, int64_t end_pos,
                    int32_t block_size, int32_t num_blocks, int64_t begin_pos = 0);

// n_q, pos0, n_heads (a multiple of n_kv_heads), q/out and the block table.
void validate_args(const char* fn, const AttentionArgs& a, int32_t n_kv_heads, int32_t block_size,
                   int32_t num_blocks);

// The scalar path over work items [begin, end) (item = q row * n_kv_heads +
// kv head): head_ref(kv, a, row, head, scores) for each of the item's query
// heads. Kv is PagedKv or PagedKvInt8, head_ref that format's scalar kernel.
template <typename Kv, typename HeadRef>
void for_each_item_head(const Kv& kv, const AttentionArgs& a, int64_t begin, int64_t end,
                        HeadRef head_ref) {
  const int32_t group = a.n_heads / kv.n_kv_heads;
  std::vector<float> scores;
  for (int64_t item = begin; item < end; ++item) {
    const auto row = static_cast<int32_t>(item / kv.n_kv_heads);
    const auto kv_head = static_cast<int32_t>(item % kv.n_kv_heads);
    for (int32_t r = 0; r < group; ++r) head_ref(kv, a, row, kv_head * group + r, scores);
  }
}

}  // namespace loom::cpu::detail
