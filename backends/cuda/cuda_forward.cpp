#include "backends/cuda/cuda_forward.h"

#include "backends/cuda/device_matmul.h"
#include "kernels/cuda/attention/decode_attention.cuh"
#include "kernels/cuda/ops/bias_add.cuh"
#include "kernels/cuda/ops/embedding.cuh"
#include "kernels/cuda/ops/gather_rows.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/sampling.cuh"
#include "kernels/cuda/ops/swiglu.cuh"

namespace loom::cuda_backend {
namespace {

size_t align256(size_t n) { return (n + 255) & ~size_t{255}; }

// Byte sizes of the workspace views, in the order they are carved.
struct WorkLayout {
  size_t x, h, q, k, v, attn, o, gate, up, act, hs, logits, out, decode_ws, total;
};

WorkLayout work_layout(const ModelConfig& c, const StepCapacity& cap, const ForwardLimits& lim) {
  const size_t T = cap.max_tokens, S = cap.max_seqs, h2 = sizeof(__half);
  WorkLayout w{};
  w.x = T * c.dim * h2;
  w.h = w.x;
  w.q = T * c.q_dim() * h2;
  w.k = T * c.kv_dim() * h2;
  w.v = w.k;
  w.attn = w.q;
  w.o = w.x;
  w.gate = T * c.ffn_dim * h2;
  w.up = w.gate;
  w.act = w.gate;
  w.hs = S * c.dim * h2;
  w.logits = S * static_cast<size_t>(c.n_vocab) * sizeof(float);
  w.out = (2 * S + 1) * sizeof(int32_t);
  w.decode_ws = cuda::decode_attention_workspace_bytes(static_cast<int32_t>(S), c.n_heads, c.head_dim,
                                                       lim.context, lim.split_len);
  w.total = 0;
  for (size_t b : {w.x, w.h, w.q, w.k, w.v, w.attn, w.o, w.gate, w.up, w.act, w.hs, w.logits, w.out, w.decode_ws})
    w.total += align256(b);
  return w;
}

}  // namespace

int64_t CudaForward::workspace_bytes(const ModelConfig& c, const StepCapacity& cap, const ForwardLimits& lim) {
  return static_cast<int64_t>(work_layout(c, cap, lim).total);
}

CudaForward::CudaForward(const ModelConfig& config, const DeviceWeights& weights, const StepMetadata& meta,
                         const ForwardLimits& limits, cudaStream_t stream, cublasHandle_t cublas)
    : c_(config), w_(weights), meta_(meta), lim_(limits), stream_(stream), cublas_(cublas) {
  const WorkLayout l = work_layout(c_, meta.capacity(), lim_);
  work_ = DeviceBuffer(l.total, "cudaMalloc(activation workspace)");
  char* at = work_.as<char>();
  auto take = [&](size_t bytes) { char* p = at; at += align256(bytes); return p; };
  x_ = reinterpret_cast<__half*>(take(l.x));
  h_ = reinterpret_cast<__half*>(take(l.h));
  q_ = reinterpret_cast<__half*>(take(l.q));
  k_ = reinterpret_cast<__half*>(take(l.k));
  v_ = reinterpret_cast<__half*>(take(l.v));
  attn_ = reinterpret_cast<__half*>(take(l.attn));
  o_ = reinterpret_cast<__half*>(take(l.o));
  gate_ = reinterpret_cast<__half*>(take(l.gate));
  up_ = reinterpret_cast<__half*>(take(l.up));
  act_ = reinterpret_cast<__half*>(take(l.act));
  hs_ = reinterpret_cast<__half*>(take(l.hs));
  logits_ = reinterpret_cast<float*>(take(l.logits));
  out_ = reinterpret_cast<int32_t*>(take(l.out));
  decode_ws_ = l.decode_ws ? take(l.decode_ws) : nullptr;
  check_cuda(cudaMemsetAsync(out_, 0, l.out, stream_), "clear step outputs");
}

// allocate_kv, kv_bytes_per_block, kv_pools, copy_block: forward_kv_cache.cpp.

void CudaForward::enqueue_logits(const StepShape& s) {
  const int32_t n = s.n_tokens;
  int32_t* error_flag = out_ + 2 * max_rows();
  check_cuda(cuda::launch_embedding_gather(w_.token_embd.as(), w_.embd_type, c_.n_vocab, c_.dim,
                                           meta_.token_ids(), n, x_, cuda::ActType::kF16, error_flag,
                                           stream_),
             "launch_embedding_gather");
  check_cuda(cuda::launch_add_rms_norm(x_, nullptr, w_.layers[0].attn_norm.as<float>(), h_, n, c_.dim,
                                       c_.rms_eps, stream_),
             "launch_add_rms_norm");
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    attention_block(l, s);
    ffn_block(l, n);
  }
  if (s.n_rows == 0) return;  // a step of prefill chunks that all stop short of their end
  // h_ now holds the final-normed hidden states; keep the sampling rows only.
  check_cuda(cuda::launch_gather_rows(h_, n, c_.dim, meta_.sample_rows(), s.n_rows, hs_, error_flag, stream_),
             "launch_gather_rows");
  matmul(w_.output, hs_, s.n_rows, logits_, cuda::ActType::kF32, stream_, cublas_);
}

void CudaForward::enqueue_sample(const StepShape& s) {
  if (s.n_rows == 0) return;
  check_cuda(cuda::launch_sample(logits_, s.n_rows, c_.n_vocab, meta_.params(), meta_.history(),
                                 meta_.history_offsets(), out_, out_ + max_rows(), stream_),
             "launch_sample");
}

void CudaForward::attention_block(int32_t l, const StepShape& s) {
  const DeviceLayer& w = w_.layers[l];
  const int32_t n = s.n_tokens;
  matmul(w.wq, h_, n, q_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wk, h_, n, k_, cuda::ActType::kF16, stream_, cublas_);
  matmul(w.wv, h_, n, v_, cuda::ActType::kF16, stream_, cublas_);
  add_qkv_bias(l, n);
  rope_kv_write(l, n);
  attend(l, s);
  matmul(w.wo, attn_, n, o_, cuda::ActType::kF16, stream_, cublas_);
  check_cuda(cuda::launch_add_rms_norm(x_, o_, w.ffn_norm.as<float>(), h_, n, c_.dim, c_.rms_eps, stream_),
             "launch_add_rms_norm");
}

// QKV-bias models (qwen2): q/k/v += bias before RoPE, one launch for the three.
void CudaForward::add_qkv_bias(int32_t l, int32_t n) {
  const DeviceLayer& w = w_.layers[l];
  cuda::BiasTarget targets[cuda::kMaxBiasTargets];
  int32_t count = 0;
  if (w.bq.bytes()) targets[count++] = {q_, w.bq.as<float>(), c_.q_dim()};
  if (w.bk.bytes()) targets[count++] = {k_, w.bk.as<float>(), c_.kv_dim()};
  if (w.bv.bytes()) targets[count++] = {v_, w.bv.as<float>(), c_.kv_dim()};
  if (count == 0) return;
  check_cuda(cuda::launch_add_bias(targets, count, n, stream_), "launch_add_bias");
}

void CudaForward::ffn_block(int32_t l, int32_t n) {
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
