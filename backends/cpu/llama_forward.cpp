#include "backends/cpu/llama_forward.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_int8.h"
#include "kernels/cpu/dequant.h"
#include "kernels/cpu/norm.h"

namespace loom {
namespace {

cpu::RopeParams rope_params(const ModelConfig& c, const float* freq_factors) {
  cpu::RopeParams p;
  p.mode = c.rope_style == RopeStyle::kHalves ? cpu::RopeMode::kNeox : cpu::RopeMode::kNorm;
  p.head_dim = c.head_dim;
  p.n_rot = c.rope_dims;
  p.freq_base = c.rope_freq_base;
  p.freq_scale = c.rope_freq_scale;
  p.freq_factors = freq_factors;
  cpu::rope_validate(p);
  return p;
}

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

}  // namespace

LlamaForward::LlamaForward(const ModelConfig& config, const LlamaWeights& weights, ThreadPool* pool,
                           int32_t max_batch_tokens)
    : c_(config), w_(weights), pool_(pool), max_tokens_(max_batch_tokens) {
  if (max_batch_tokens <= 0) throw ModelError("max_batch_tokens must be positive");
  rope_ = rope_params(c_, w_.rope_freq_factors);
  const size_t t = static_cast<size_t>(max_tokens_);
  x_.resize(t * c_.dim);
  h_.resize(t * c_.dim);
  q_.resize(t * c_.q_dim());
  k_.resize(t * c_.kv_dim());
  v_.resize(t * c_.kv_dim());
  attn_.resize(t * c_.q_dim());
  gate_.resize(t * c_.ffn_dim);
  up_.resize(t * c_.ffn_dim);
  positions_.resize(t);
}

void LlamaForward::check_batch(std::span<const SequenceChunk> batch, const CpuKvCache& kv) const {
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
    for (int32_t id : chunk.tokens)
      if (id < 0 || id >= c_.n_vocab)
        throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                         std::to_string(c_.n_vocab));
  }
  if (total > max_tokens_)
    throw ModelError("batch of " + std::to_string(total) + " tokens exceeds max_batch_tokens " +
                     std::to_string(max_tokens_));
}

void LlamaForward::run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) {
  check_batch(batch, kv);
  embed(batch);
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(w_.layers[l], batch, kv, l);
    ffn_block(w_.layers[l]);
  }
  compute_logits(batch, logits);
}

void LlamaForward::embed(std::span<const SequenceChunk> batch) {
  n_ = 0;
  for (const auto& chunk : batch) {
    for (size_t i = 0; i < chunk.tokens.size(); ++i) {
      positions_[n_] = chunk.pos0 + static_cast<int32_t>(i);
      const auto* row = static_cast<const uint8_t*>(w_.token_embd.data) +
                        w_.token_embd.row_stride * static_cast<size_t>(chunk.tokens[i]);
      dequantize_row(w_.token_embd.type, row, &x_[n_ * c_.dim], c_.dim);
      ++n_;
    }
  }
}

void LlamaForward::add_bias(float* rows, const float* bias, int64_t width) {
  if (!bias) return;
  for (int64_t t = 0; t < n_; ++t)
    for (int64_t i = 0; i < width; ++i) rows[t * width + i] += bias[i];
}

void LlamaForward::attention_block(const LlamaLayerWeights& w, std::span<const SequenceChunk> batch,
                                   CpuKvCache& kv, int32_t layer) {
  const int64_t dim = c_.dim, qd = c_.q_dim(), kvd = c_.kv_dim();
  cpu::rms_norm(x_.data(), w.attn_norm, h_.data(), n_, dim, c_.rms_eps);
  matmul(w.wq, h_.data(), dim, n_, q_.data(), qd, pool_);
  matmul(w.wk, h_.data(), dim, n_, k_.data(), kvd, pool_);
  matmul(w.wv, h_.data(), dim, n_, v_.data(), kvd, pool_);
  add_bias(q_.data(), w.bq, qd);
  add_bias(k_.data(), w.bk, kvd);
  add_bias(v_.data(), w.bv, kvd);
  cpu::rope_apply(rope_, q_.data(), static_cast<int32_t>(n_), c_.n_heads, positions_.data());
  cpu::rope_apply(rope_, k_.data(), static_cast<int32_t>(n_), c_.n_kv_heads, positions_.data());
  if (kv.dtype() == KvCacheDtype::kInt8) {
    store_and_attend(batch, kv.layer_int8(layer));
  } else {
    store_and_attend(batch, kv.layer(layer));
  }
  matmul(w.wo, attn_.data(), qd, n_, h_.data(), dim, pool_);
  for (int64_t i = 0; i < n_ * dim; ++i) x_[i] += h_[i];
}

// Writes the batch's K/V rows (after RoPE) into the cache, rounded to fp16 or
// quantized to int8 per (token, KV head), then attends.
template <typename KvMut>
void LlamaForward::store_and_attend(std::span<const SequenceChunk> batch, const KvMut& kv) {
  const int64_t kvd = c_.kv_dim();
  int64_t row = 0;
  for (const auto& chunk : batch) {
    const auto n = static_cast<int32_t>(chunk.tokens.size());
    cpu::kv_write(kv, &k_[row * kvd], &v_[row * kvd], n, chunk.pos0, chunk.block_table.data(),
                  static_cast<int32_t>(chunk.block_table.size()));
    row += n;
  }
  attend(batch, kv.view());
}

// One parallel pass over every (query row, KV head) item of every chunk, so a
// decode batch of many one-token sequences still spreads over all threads.
template <typename Kv>
void LlamaForward::attend(std::span<const SequenceChunk> batch, const Kv& kv) {
  std::vector<cpu::AttentionArgs> args;
  std::vector<int64_t> item_start{0};
  int64_t row = 0;
  const float scale = 1.0f / std::sqrt(static_cast<float>(c_.head_dim));
  for (const auto& chunk : batch) {
    cpu::AttentionArgs a;
    a.q = &q_[row * c_.q_dim()];
    a.n_q = static_cast<int32_t>(chunk.tokens.size());
    a.n_heads = c_.n_heads;
    a.pos0 = chunk.pos0;
    a.block_table = chunk.block_table.data();
    a.block_table_len = static_cast<int32_t>(chunk.block_table.size());
    a.scale = scale;
    a.out = &attn_[row * c_.q_dim()];
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

void LlamaForward::ffn_block(const LlamaLayerWeights& w) {
  const int64_t dim = c_.dim, ffn = c_.ffn_dim;
  cpu::rms_norm(x_.data(), w.ffn_norm, h_.data(), n_, dim, c_.rms_eps);
  matmul(w.w_gate, h_.data(), dim, n_, gate_.data(), ffn, pool_);
  matmul(w.w_up, h_.data(), dim, n_, up_.data(), ffn, pool_);
  parallel_rows(pool_, n_, [&](int64_t t) {
    cpu::swiglu(&gate_[t * ffn], &up_[t * ffn], &gate_[t * ffn], ffn);
  });
  matmul(w.w_down, gate_.data(), ffn, n_, h_.data(), dim, pool_);
  for (int64_t i = 0; i < n_ * dim; ++i) x_[i] += h_[i];
}

void LlamaForward::compute_logits(std::span<const SequenceChunk> batch, float* logits) {
  // Gather the rows that want logits into h_, normalize them, project once.
  const int64_t dim = c_.dim;
  int64_t row = 0, out_rows = 0;
  for (const auto& chunk : batch) {
    const auto n = static_cast<int64_t>(chunk.tokens.size());
    const int64_t first = chunk.logits == LogitsWanted::kAll    ? 0
                          : chunk.logits == LogitsWanted::kLast ? n - 1
                                                                : n;
    for (int64_t i = first; i < n; ++i, ++out_rows)
      std::copy_n(&x_[(row + i) * dim], dim, &h_[out_rows * dim]);
    row += n;
  }
  if (out_rows == 0) return;
  cpu::rms_norm(h_.data(), w_.output_norm, h_.data(), out_rows, dim, c_.rms_eps);
  matmul(w_.output, h_.data(), dim, out_rows, logits, c_.n_vocab, pool_);
}

}  // namespace loom
