// The steps every family's CPU forward pass shares: batch checks, embedding
// lookup, K/V store + paged attention (optionally a sliding window), and the
// final norm + output projection. Each step is computed row by row the same
// way whatever else is in the batch (batch invariance, tests/model).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_batch.h"
#include "backends/cpu/kv_cache.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {

class ForwardSteps {
 public:
  ForwardSteps(const ModelConfig& config, ThreadPool* pool, int32_t max_batch_tokens);

  // Throws ModelError for positions past the context, a short block table,
  // token ids outside the vocabulary or too many tokens; then records the
  // batch's positions. Returns the batch's token count.
  int64_t begin(std::span<const SequenceChunk> batch, const CpuKvCache& kv);

  // x[t] = scale * embedding(token t) for every token of the batch.
  void embed(std::span<const SequenceChunk> batch, const WeightView& table, float scale, float* x) const;

  // Stores the batch's k/v rows (after RoPE) in layer `layer` of the cache,
  // then attends q to each sequence's keys (the last `window` only, if > 0).
  struct Attention {
    const float* q;
    const float* k;
    const float* v;
    float* out;
    float scale;
    int32_t window;
  };
  void store_and_attend(std::span<const SequenceChunk> batch, CpuKvCache& kv, int32_t layer, const Attention& a);

  // Gathers the rows that want logits from x into scratch, applies the final
  // RMSNorm and the output projection (and a soft-cap when cap > 0).
  void logits(std::span<const SequenceChunk> batch, const float* x, const float* norm, const WeightView& output,
              float softcap, float* scratch, float* logits) const;

  const int32_t* positions() const { return positions_.data(); }
  ThreadPool* pool() const { return pool_; }
  int32_t max_tokens() const { return max_tokens_; }

 private:
  template <typename KvMut>
  // window_pool: this layer's KV is in the window pool (the chunks' window tables).
  void store_and_attend_in(std::span<const SequenceChunk> batch, const KvMut& kv, const Attention& a,
                           bool window_pool);

  const ModelConfig& c_;
  ThreadPool* pool_;
  int32_t max_tokens_;
  std::vector<int32_t> positions_;
};

// Runs fn(i) for i in [0, n) on the pool, or inline without one.
template <typename Fn>
void parallel_rows(ThreadPool* pool, int64_t n, Fn&& fn) {
  if (!pool || n < 2) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  pool->parallel_for(n, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace loom
