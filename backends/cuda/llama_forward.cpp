#include "backends/cuda/llama_forward.h"

#include <cmath>

#include "backends/cuda/device_matmul.h"
#include "kernels/cuda/ops/bias_add.cuh"
#include "kernels/cuda/ops/embedding.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/swiglu.cuh"

namespace loom::cuda_backend {

LlamaForward::LlamaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
                           const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas)
    : CudaForward(config, weights, meta, limits, stream, cublas),
      rope_(rope_config(config.rope_freq_base, config.rope_freq_scale)) {}

void LlamaForward::enqueue_logits(const StepShape& s) {
  const int32_t n = s.n_tokens;
  check_cuda(cuda::launch_embedding_gather(w_.token_embd.as(), w_.embd_type, c_.n_vocab, c_.dim,
                                           meta_.token_ids(), n, x_, cuda::ActType::kF16, error_flag(),
                                           stream_),
             "launch_embedding_gather");
  check_cuda(cuda::launch_add_rms_norm(x_, nullptr, w_.layers[0].attn_norm.as<float>(), h_, n, c_.dim,
                                       c_.rms_eps, stream_),
             "launch_add_rms_norm");
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(l, s);
    ffn_block(l, n);
  }
  lm_head(s);  // h_ now holds the final-normed hidden states
}

void LlamaForward::attention_block(int32_t l, const StepShape& s) {
  const DeviceLayer& w = w_.layers[l];
  const int32_t n = s.n_tokens;
  matmul(w.wq, h_, n, q_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wk, h_, n, k_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wv, h_, n, v_, cuda::ActType::kF16, stream_, cublas_);
  add_qkv_bias(l, n);
  rope_kv_write(l, n, rope_);
  attend(l, s, 1.0f / std::sqrt(static_cast<float>(c_.head_dim)), 0);  // as the CPU
  matmul(w.wo, attn_, n, o_, cuda::ActType::kF16, stream_, cublas_);
  check_cuda(cuda::launch_add_rms_norm(x_, o_, w.ffn_norm.as<float>(), h_, n, c_.dim, c_.rms_eps, stream_),
             "launch_add_rms_norm");
}

// QKV-bias models (qwen2): q/k/v += bias before RoPE, one launch for the three.
void LlamaForward::add_qkv_bias(int32_t l, int32_t n) {
  const DeviceLayer& w = w_.layers[l];
  cuda::BiasTarget targets[cuda::kMaxBiasTargets];
  int32_t count = 0;
  if (w.bq.bytes()) targets[count++] = {q_, w.bq.as<float>(), c_.q_dim()};
  if (w.bk.bytes()) targets[count++] = {k_, w.bk.as<float>(), c_.kv_dim()};
  if (w.bv.bytes()) targets[count++] = {v_, w.bv.as<float>(), c_.kv_dim()};
  if (count == 0) return;
  check_cuda(cuda::launch_add_bias(targets, count, n, stream_), "launch_add_bias");
}

void LlamaForward::ffn_block(int32_t l, int32_t n) {
  const DeviceLayer& w = w_.layers[l];
  matmul(w.w_gate, h_, n, gate_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.w_up, h_, n, up_, cuda::ActType::kF16, stream_, cublas_);
  check_cuda(cuda::launch_silu_mul(gate_, up_, c_.ffn_dim, act_, n, c_.ffn_dim, stream_), "launch_silu_mul");
  matmul(w.w_down, act_, n, o_, cuda::ActType::kF16, stream_, cublas_);
  const bool last = l + 1 == c_.n_layers;
  const float* next_norm = last ? w_.output_norm.as<float>() : w_.layers[l + 1].attn_norm.as<float>();
  check_cuda(cuda::launch_add_rms_norm(x_, o_, next_norm, h_, n, c_.dim, c_.rms_eps, stream_),
             "launch_add_rms_norm");
}

}  // namespace loom::cuda_backend
