#include "backends/cuda/cuda_forward.h"

#include "backends/cuda/device_matmul.h"
#include "backends/cuda/gemma3_forward.h"
#include "backends/cuda/llama_forward.h"
#include "kernels/cuda/attention/decode_attention.cuh"
#include "kernels/cuda/ops/gather_rows.cuh"
#include "kernels/cuda/ops/sampling.cuh"

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

std::unique_ptr<CudaForward> CudaForward::create(const ModelConfig& config, const DeviceWeights& weights,
                                                 const StepMetadata& meta, const ForwardLimits& limits,
                                                 cudaStream_t stream, cublasHandle_t cublas) {
  switch (config.family) {
    case ModelFamily::kLlama:
      return std::make_unique<LlamaForward>(config, weights, meta, limits, stream, cublas);
    case ModelFamily::kGemma3:
      return std::make_unique<Gemma3Forward>(config, weights, meta, limits, stream, cublas);
  }
  throw ModelError("the CUDA backend has no forward pass for '" + config.arch + "'");
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

void* CudaForward::family_workspace(size_t bytes) {
  family_work_ = DeviceBuffer(bytes, "cudaMalloc(activation workspace)");
  return family_work_.as();
}

void CudaForward::lm_head(const StepShape& s) {
  if (s.n_rows == 0) return;  // a step of prefill chunks that all stop short of their end
  check_cuda(cuda::launch_gather_rows(h_, s.n_tokens, c_.dim, meta_.sample_rows(), s.n_rows, hs_, error_flag(),
                                      stream_),
             "launch_gather_rows");
  matmul(w_.output, hs_, s.n_rows, logits_, cuda::ActType::kF32, stream_, cublas_);
}

void CudaForward::enqueue_sample(const StepShape& s) {
  if (s.n_rows == 0) return;
  check_cuda(cuda::launch_sample(logits_, s.n_rows, c_.n_vocab, meta_.params(), meta_.history(),
                                 meta_.history_offsets(), out_, out_ + max_rows(), stream_),
             "launch_sample");
}

}  // namespace loom::cuda_backend
