#include "backends/cpu/gemma3_forward.h"

#include <utility>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/norm.h"

namespace loom {
namespace {

cpu::RopeParams rope_params(const ModelConfig& c, float base, float scale) {
  cpu::RopeParams p;
  p.mode = cpu::RopeMode::kNeox;
  p.head_dim = c.head_dim;
  p.n_rot = c.rope_dims;
  p.freq_base = base;
  p.freq_scale = scale;
  cpu::rope_validate(p);
  return p;
}

}  // namespace

Gemma3Forward::Gemma3Forward(const ModelConfig& config, Gemma3Weights weights, ThreadPool* pool,
                             int32_t max_batch_tokens)
    : c_(config), w_(std::move(weights)), pool_(pool), steps_(config, pool, max_batch_tokens) {
  rope_global_ = rope_params(c_, c_.rope_freq_base, c_.rope_freq_scale);
  rope_sliding_ = rope_params(c_, c_.rope_freq_base_sliding, 1.0f);
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

void Gemma3Forward::run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) {
  n_ = steps_.begin(batch, kv);
  steps_.embed(batch, w_.token_embd, c_.embed_scale, x_.data());
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(w_.layers[l], batch, kv, l);
    ffn_block(w_.layers[l]);
  }
  steps_.logits(batch, x_.data(), w_.output_norm, w_.output, c_.final_logit_softcap, h_.data(), logits);
}

void Gemma3Forward::attention_block(const Gemma3LayerWeights& w, std::span<const SequenceChunk> batch,
                                    CpuKvCache& kv, int32_t layer) {
  const int64_t dim = c_.dim, qd = c_.q_dim(), kvd = c_.kv_dim(), hd = c_.head_dim;
  cpu::rms_norm(x_.data(), w.attn_norm, h_.data(), n_, dim, c_.rms_eps);
  matmul(w.wq, h_.data(), dim, n_, q_.data(), qd, pool_);
  matmul(w.wk, h_.data(), dim, n_, k_.data(), kvd, pool_);
  matmul(w.wv, h_.data(), dim, n_, v_.data(), kvd, pool_);
  cpu::rms_norm(q_.data(), w.q_norm, q_.data(), n_ * c_.n_heads, hd, c_.rms_eps);
  cpu::rms_norm(k_.data(), w.k_norm, k_.data(), n_ * c_.n_kv_heads, hd, c_.rms_eps);
  const bool sliding = c_.is_sliding(layer);
  const cpu::RopeParams& rope = sliding ? rope_sliding_ : rope_global_;
  cpu::rope_apply(rope, q_.data(), static_cast<int32_t>(n_), c_.n_heads, steps_.positions());
  cpu::rope_apply(rope, k_.data(), static_cast<int32_t>(n_), c_.n_kv_heads, steps_.positions());
  for (int64_t i = 0; i < n_ * qd; ++i) q_[i] *= c_.query_scale;  // ggml_scale before attention
  steps_.store_and_attend(batch, kv, layer,
                          {q_.data(), k_.data(), v_.data(), attn_.data(), 1.0f, sliding ? c_.sliding_window : 0});
  matmul(w.wo, attn_.data(), qd, n_, h_.data(), dim, pool_);
  cpu::rms_norm(h_.data(), w.post_attn_norm, h_.data(), n_, dim, c_.rms_eps);
  for (int64_t i = 0; i < n_ * dim; ++i) x_[i] += h_[i];
}

void Gemma3Forward::ffn_block(const Gemma3LayerWeights& w) {
  const int64_t dim = c_.dim, ffn = c_.ffn_dim;
  cpu::rms_norm(x_.data(), w.ffn_norm, h_.data(), n_, dim, c_.rms_eps);
  matmul(w.w_gate, h_.data(), dim, n_, gate_.data(), ffn, pool_);
  matmul(w.w_up, h_.data(), dim, n_, up_.data(), ffn, pool_);
  parallel_rows(pool_, n_, [&](int64_t t) {
    cpu::geglu(&gate_[t * ffn], &up_[t * ffn], &gate_[t * ffn], ffn);
  });
  matmul(w.w_down, gate_.data(), ffn, n_, h_.data(), dim, pool_);
  cpu::rms_norm(h_.data(), w.post_ffn_norm, h_.data(), n_, dim, c_.rms_eps);
  for (int64_t i = 0; i < n_ * dim; ++i) x_[i] += h_[i];
}

}  // namespace loom
