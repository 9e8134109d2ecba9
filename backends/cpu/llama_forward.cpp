#include "backends/cpu/llama_forward.h"

#include <cmath>
#include <utility>

#include "kernels/cpu/activation.h"
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

}  // namespace

LlamaForward::LlamaForward(const ModelConfig& config, LlamaWeights weights, ThreadPool* pool,
                           int32_t max_batch_tokens)
    : c_(config), w_(std::move(weights)), pool_(pool), steps_(config, pool, max_batch_tokens) {
  rope_ = rope_params(c_, w_.rope_freq_factors);
  const size_t t = static_cast<size_t>(max_batch_tokens);
  x_.resize(t * c_.dim);
  h_.resize(t * c_.dim);
  q_.resize(t * c_.q_dim());
  k_.resize(t * c_.kv_dim());
  v_.resize(t * c_.kv_dim());
  attn_.resize(t * c_.q_dim());
  gate_.resize(t * c_.ffn_dim);
  up_.resize(t * c_.ffn_dim);
}

void LlamaForward::run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) {
  n_ = steps_.begin(batch, kv);
  steps_.embed(batch, w_.token_embd, 1.0f, x_.data());
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(w_.layers[l], batch, kv, l);
    ffn_block(w_.layers[l]);
  }
  steps_.logits(batch, x_.data(), w_.output_norm, w_.output, 0.0f, h_.data(), logits);
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
  cpu::rope_apply(rope_, q_.data(), static_cast<int32_t>(n_), c_.n_heads, steps_.positions());
  cpu::rope_apply(rope_, k_.data(), static_cast<int32_t>(n_), c_.n_kv_heads, steps_.positions());
  const float scale = 1.0f / std::sqrt(static_cast<float>(c_.head_dim));
  steps_.store_and_attend(batch, kv, layer, {q_.data(), k_.data(), v_.data(), attn_.data(), scale, 0});
  matmul(w.wo, attn_.data(), qd, n_, h_.data(), dim, pool_);
  for (int64_t i = 0; i < n_ * dim; ++i) x_[i] += h_[i];
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

}  // namespace loom
