// What one forward pass computes: a batch of sequence chunks. Each chunk is a
// run of new tokens of one sequence, at consecutive positions, whose K/V are
// written into the blocks its block table names. This is the executor's view
// of a scheduler step; it carries no policy.
#pragma once
#include <cstdint>
#include <span>

namespace loom {

enum class LogitsWanted : uint8_t {
  kNone,  // prefill chunk that does not reach the end of the prompt
  kLast,  // the chunk's last token samples the next one
  kAll,   // every token (teacher-forced evaluation, perplexity)
};

struct SequenceChunk {
  std::span<const int32_t> tokens;       // new tokens, positions pos0 .. pos0+size-1
  int32_t pos0 = 0;                      // tokens before pos0 are already in the cache
  std::span<const int32_t> block_table;  // physical KV blocks covering [0, pos0+size)
  LogitsWanted logits = LogitsWanted::kLast;
  // With a KV window pool: the sliding-window layers' blocks, same length,
  // -1 before the window (CpuKvCache::in_window_pool). Empty: block_table.
  std::span<const int32_t> window_block_table = {};
};

// Logits rows produced by a batch: chunks in order, 0, 1 or size rows each.
inline int64_t logits_rows(std::span<const SequenceChunk> batch) {
  int64_t rows = 0;
  for (const auto& c : batch)
    rows += c.logits == LogitsWanted::kAll ? static_cast<int64_t>(c.tokens.size())
            : c.logits == LogitsWanted::kLast ? 1 : 0;
  return rows;
}

}  // namespace loom
