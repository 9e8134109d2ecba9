// Checks shared by the fp16 and int8 paged attention (attention.cpp,
// attention_int8.cpp); internal to kernels/cpu. All throw
// std::invalid_argument("<fn>: <what>").
#pragma once
#include <cstdint>
#include <string>

#include "kernels/cpu/attention.h"

namespace loom::cpu::detail {

[[noreturn]] void attention_fail(const char* fn, const std::string& what);

void validate_layout(const char* fn, int32_t num_blocks, int32_t block_size, int32_t n_kv_heads,
                     int32_t head_dim, bool has_k, bool has_v);

// Every logical block holding a position < end_pos must map to a real block.
void validate_table(const char* fn, const int32_t* table, int32_t table_len, int64_t end_pos,
                    int32_t block_size, int32_t num_blocks);

// n_q, pos0, n_heads (a multiple of n_kv_heads), q/out and the block table.
void validate_args(const char* fn, const AttentionArgs& a, int32_t n_kv_heads, int32_t block_size,
                   int32_t num_blocks);
}  // namespace loom::cpu::detail
