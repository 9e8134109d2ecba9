#include "backends/cuda/gemma3_forward.h"

#include <cmath>

#include "backends/cuda/device_matmul.h"
#include "kernels/cuda/ops/embedding.cuh"
#include "kernels/cuda/ops/geglu.cuh"
#include "kernels/cuda/ops/residual_norm.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/scale.cuh"

namespace loom::cuda_backend {
namespace {

size_t align256(size_t n) { return (n + 255) & ~size_t{255}; }

}  // namespace

Gemma3Forward::Gemma3Forward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
                             const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas)
    : CudaForward(config, weights, meta, limits, stream, cublas),
      rope_global_(rope_config(config.rope_freq_base, config.rope_freq_scale)),
      rope_sliding_(rope_config(config.rope_freq_base_sliding, 1.0f)) {  // as the CPU
  const size_t stream_bytes = align256(static_cast<size_t>(meta.capacity().max_tokens) * c_.dim * sizeof(float));
  char* at = static_cast<char*>(family_workspace(2 * stream_bytes));
  xf_ = reinterpret_cast<float*>(at);
  of_ = reinterpret_cast<float*>(at + stream_bytes);
}

void Gemma3Forward::enqueue_logits(const StepShape& s) {
  const int32_t n = s.n_tokens;
  check_cuda(cuda::launch_embedding_gather(w_.token_embd.as(), w_.embd_type, c_.n_vocab, c_.dim,
                                           meta_.token_ids(), n, xf_, cuda::ActType::kF32, error_flag(),
                                           stream_),
             "launch_embedding_gather");
  check_cuda(cuda::launch_scale_f32(xf_, static_cast<int64_t>(n) * c_.dim, c_.embed_scale, stream_),
             "launch_scale_f32");
  check_cuda(cuda::launch_post_norm_add_rms_norm(nullptr, nullptr, xf_, w_.layers[0].attn_norm.as<float>(), h_,
                                                 n, c_.dim, c_.rms_eps, stream_),
             "launch_post_norm_add_rms_norm");
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(l, s);
    ffn_block(l, n);
  }
  lm_head(s);  // h_ holds the final-normed hidden states
  if (c_.final_logit_softcap > 0.0f && s.n_rows > 0)
    check_cuda(cuda::launch_softcap_f32(logits_, static_cast<int64_t>(s.n_rows) * c_.n_vocab,
                                        c_.final_logit_softcap, stream_),
               "launch_softcap_f32");
}

void Gemma3Forward::attention_block(int32_t l, const StepShape& s) {
  const DeviceLayer& w = w_.layers[l];
  const int32_t n = s.n_tokens;
  matmul(w.wq, h_, n, q_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wk, h_, n, k_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wv, h_, n, v_, cuda::ActType::kF16, stream_, cublas_);
  // QK-norm: every head row of q and k, in place.
  check_cuda(cuda::launch_add_rms_norm(q_, nullptr, w.q_norm.as<float>(), q_, n * c_.n_heads, c_.head_dim,
                                       c_.rms_eps, stream_),
             "launch_add_rms_norm (q norm)");
  check_cuda(cuda::launch_add_rms_norm(k_, nullptr, w.k_norm.as<float>(), k_, n * c_.n_kv_heads, c_.head_dim,
                                       c_.rms_eps, stream_),
             "launch_add_rms_norm (k norm)");
  const bool sliding = c_.is_sliding(l);
  rope_kv_write(l, n, sliding ? rope_sliding_ : rope_global_);
  const float scale = c_.query_scale > 0.0f ? c_.query_scale : 1.0f / std::sqrt(static_cast<float>(c_.head_dim));
  attend(l, s, scale, sliding ? c_.sliding_window : 0);
  matmul(w.wo, attn_, n, of_, cuda::ActType::kF32, stream_, cublas_);
  check_cuda(cuda::launch_post_norm_add_rms_norm(of_, w.post_attn_norm.as<float>(), xf_, w.ffn_norm.as<float>(),
                                                 h_, n, c_.dim, c_.rms_eps, stream_),
             "launch_post_norm_add_rms_norm");
}

void Gemma3Forward::ffn_block(int32_t l, int32_t n) {
  const DeviceLayer& w = w_.layers[l];
  matmul(w.w_gate, h_, n, gate_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.w_up, h_, n, up_, cuda::ActType::kF16, stream_, cublas_);
  check_cuda(cuda::launch_gelu_mul(gate_, up_, act_, n, c_.ffn_dim, stream_), "launch_gelu_mul");
  matmul(w.w_down, act_, n, of_, cuda::ActType::kF32, stream_, cublas_);
  const bool last = l + 1 == c_.n_layers;
  const float* next_norm = last ? w_.output_norm.as<float>() : w_.layers[l + 1].attn_norm.as<float>();
  check_cuda(cuda::launch_post_norm_add_rms_norm(of_, w.post_ffn_norm.as<float>(), xf_, next_norm, h_, n, c_.dim,
                                                 c_.rms_eps, stream_),
             "launch_post_norm_add_rms_norm");
}

}  // namespace loom::cuda_backend
