#include "backends/cpu/forward_steps.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_int8.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/norm.h"

namespace loom {

ForwardSteps::ForwardSteps(const ModelConfig& config, ThreadPool* pool, int32_t max_batch_tokens)
    : c_(config), pool_(pool), max_tokens_(max_batch_tokens) {
  if (max_batch_tokens <= 0) throw ModelError("max_batch_tokens must be positive");
  positions_.resize(static_cast<size_t>(max_tokens_));
}

int64_t ForwardSteps::begin(std::span<const SequenceChunk> batch, const CpuKvCache& kv) {
  int64_t total = 0;
  for (const auto& chunk : batch) {
    total += static_cast<int64_t>(chunk.tokens.size());
    const int64_t end = chunk.pos0 + static_cast<int64_t>(chunk.tokens.size());
    if (chunk.pos0 < 0 || end > c_.context_length)
      throw ModelError("positions [" + std::to_string(chunk.pos0) + ", " + std::to_string(end) +
                       ") exceed the model's context of " + std::to_string(c_.context_length));
    if (static_cast<int64_t>(chunk.block_table.size()) * kv.block_size() < end)
      throw ModelError("block table of " + std::to_string(chunk.block_table.size()) +
                       " blocks does not cover position " + std::to_string(end - 1));
    if (kv.num_window_blocks() > 0 && chunk.window_block_table.size() != chunk.block_table.size())
      throw ModelError("this KV cache has a window pool: every chunk needs a window block table as long as its "
                       "block table (" + std::to_string(chunk.window_block_table.size()) + " vs " +
                       std::to_string(chunk.block_table.size()) + ")");
    for (int32_t id : chunk.tokens)
      if (id < 0 || id >= c_.n_vocab)
        throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                         std::to_string(c_.n_vocab));
  }
  if (total > max_tokens_)
    throw ModelError("batch of " + std::to_string(total) + " tokens exceeds max_batch_tokens " +
                     std::to_string(max_tokens_));
  int64_t n = 0;
  for (const auto& chunk : batch)
    for (size_t i = 0; i < chunk.tokens.size(); ++i) positions_[n++] = chunk.pos0 + static_cast<int32_t>(i);
  return total;
}

void ForwardSteps::embed(std::span<const SequenceChunk> batch, const WeightView& table, float scale,
                         float* x) const {
  const int64_t dim = c_.dim;
  int64_t n = 0;
  for (const auto& chunk : batch) {
    for (int32_t id : chunk.tokens) {
      const auto* row = static_cast<const uint8_t*>(table.data) + table.row_stride * static_cast<size_t>(id);
      float* out = x + n * dim;
      dequantize_row(table.type, row, out, dim);
      if (scale != 1.0f)
        for (int64_t i = 0; i < dim; ++i) out[i] *= scale;
      ++n;
    }
  }
}

void ForwardSteps::store_and_attend(std::span<const SequenceChunk> batch, CpuKvCache& kv, int32_t layer,
                                    const Attention& a) {
  const bool window_pool = kv.in_window_pool(layer);
  if (kv.dtype() == KvCacheDtype::kInt8) return store_and_attend_in(batch, kv.layer_int8(layer), a, window_pool);
  store_and_attend_in(batch, kv.layer(layer), a, window_pool);
}

// Writes the batch's K/V rows into the cache (rounded to fp16 or quantized
// to int8 per (token, KV head)), then one parallel pass over every (query
// row, KV head) item of every chunk, so a decode batch of many one-token
// sequences still spreads over all threads.
template <typename KvMut>
void ForwardSteps::store_and_attend_in(std::span<const SequenceChunk> batch, const KvMut& kv_mut,
                                       const Attention& at, bool window_pool) {
  const int64_t kvd = c_.kv_dim(), qd = c_.q_dim();
  auto table = [&](const SequenceChunk& chunk) { return window_pool ? chunk.window_block_table : chunk.block_table; };
  int64_t row = 0;
  for (const auto& chunk : batch) {
    const auto n = static_cast<int32_t>(chunk.tokens.size());
    cpu::kv_write(kv_mut, &at.k[row * kvd], &at.v[row * kvd], n, chunk.pos0, table(chunk).data(),
                  static_cast<int32_t>(table(chunk).size()));
    row += n;
  }
  const auto kv = kv_mut.view();
  std::vector<cpu::AttentionArgs> args;
  std::vector<int64_t> item_start{0};
  row = 0;
  for (const auto& chunk : batch) {
    cpu::AttentionArgs a;
    a.q = &at.q[row * qd];
    a.n_q = static_cast<int32_t>(chunk.tokens.size());
    a.n_heads = c_.n_heads;
    a.pos0 = chunk.pos0;
    a.block_table = table(chunk).data();
    a.block_table_len = static_cast<int32_t>(table(chunk).size());
    a.scale = at.scale;
    a.out = &at.out[row * qd];
    a.window = at.window;
    cpu::attention_validate(kv, a);
    args.push_back(a);
    item_start.push_back(item_start.back() + cpu::attention_work_items(kv, a));
    row += a.n_q;
  }
  auto run_items = [&](int64_t begin, int64_t end) {
    size_t s = 0;
    while (begin < end) {
      while (item_start[s + 1] <= begin) ++s;
      const int64_t stop = std::min(end, item_start[s + 1]);
      cpu::attention_paged_items(kv, args[s], begin - item_start[s], stop - item_start[s]);
      begin = stop;
    }
  };
  const int64_t items = item_start.back();
  if (!pool_ || items < 2) return run_items(0, items);
  pool_->parallel_for(items, [&](int64_t begin, int64_t end, int) { run_items(begin, end); });
}

void ForwardSteps::logits(std::span<const SequenceChunk> batch, const float* x, const float* norm,
                          const WeightView& output, float softcap, float* scratch, float* logits) const {
  const int64_t dim = c_.dim;
  int64_t row = 0, out_rows = 0;
  for (const auto& chunk : batch) {
    const auto n = static_cast<int64_t>(chunk.tokens.size());
    const int64_t first = chunk.logits == LogitsWanted::kAll    ? 0
                          : chunk.logits == LogitsWanted::kLast ? n - 1
                                                                : n;
    for (int64_t i = first; i < n; ++i, ++out_rows) std::copy_n(&x[(row + i) * dim], dim, &scratch[out_rows * dim]);
    row += n;
  }
  if (out_rows == 0) return;
  cpu::rms_norm(scratch, norm, scratch, out_rows, dim, c_.rms_eps);
  matmul(output, scratch, dim, out_rows, logits, c_.n_vocab, pool_);
  if (softcap > 0.0f) {
    // ggml: scale by 1/cap, tanh, scale by cap.
    const float inv = 1.0f / softcap;
    parallel_rows(pool_, out_rows, [&](int64_t r) {
      float* l = logits + r * c_.n_vocab;
      for (int64_t i = 0; i < c_.n_vocab; ++i) l[i] = std::tanh(l[i] * inv) * softcap;
    });
  }
}

}  // namespace loom
