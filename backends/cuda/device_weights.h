// The model's weights in device memory, uploaded once at load time.
//   Q4_0 / Q4_1 / Q8_0 matrices: repacked (kernels/cuda/ops/quant_repack.h),
//     stay 4/8-bit, run through launch_qgemv.
//   Everything else (F16, BF16, F32, K-quants): dequantized on the host to
//     fp16 [rows][cols] and run through cublasGemmEx. For K-quants this costs
//     16 bits per weight instead of 4.5-6.6 (2.4-3.6x the memory and bandwidth)
//     but keeps the file's values (up to fp16 rounding of d*q-m).
//   Norm weights: fp32 vectors. Token embedding: raw GGUF rows for
//     launch_embedding_gather when Q8_0/Q4_0/Q4_1/F16, else converted to F16.
//   Q/K/V biases (qwen2-style models): fp32 vectors, added after the matmuls.
#pragma once
#include <cstdint>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cuda/device_buffer.h"
#include "backends/common/model/gemma3_weights.h"
#include "backends/common/model/llama_weights.h"
#include "kernels/cuda/ops/qgemv.cuh"

namespace loom::cuda_backend {

struct DeviceMatrix {
  bool quantized = false;       // true: `view` (qgemv); false: `half` (cuBLAS)
  int32_t rows = 0, cols = 0;   // [rows][cols] = [N out][K in]
  cuda::QuantMatrixView view;   // points into qs/d/m
  DeviceBuffer qs, d, m;        // repacked quants, scales, mins
  DeviceBuffer half;            // [rows][cols] fp16
  int64_t bytes() const { return static_cast<int64_t>(qs.bytes() + d.bytes() + m.bytes() + half.bytes()); }
};

struct DeviceLayer {
  DeviceBuffer attn_norm, ffn_norm;  // [dim] fp32
  DeviceBuffer bq, bk, bv;           // QKV-bias models (qwen2): [q_dim] / [kv_dim] fp32; else empty
  // Gemma 3 only (else empty): per-head QK-norm [head_dim], post-attention and
  // post-FFN norms [dim]; fp32, as stored (1 + w).
  DeviceBuffer q_norm, k_norm, post_attn_norm, post_ffn_norm;
  DeviceMatrix wq, wk, wv, wo, w_gate, w_up, w_down;
};

struct DeviceWeights {
  DeviceBuffer token_embd;   // [n_vocab] rows of embd_type
  GgmlType embd_type = GgmlType::F16;
  std::vector<DeviceLayer> layers;
  DeviceBuffer output_norm;  // [dim] fp32
  DeviceMatrix output;       // [n_vocab][dim] LM head (a second copy of the table when tied)
  DeviceBuffer rope_freq_factors;  // [rope_dims/2] fp32 or empty
  int64_t bytes = 0;         // everything above
};

// `force_fp16`: take the cuBLAS path for every matrix (tests use it to run the
// fp16 path on a quantized file). Throws ModelError for models the CUDA
// forward pass cannot run (head_dim not 64/128/256, group > 8).
DeviceWeights upload_weights(const ModelConfig& config, const LlamaWeights& host, bool force_fp16);
// Gemma 3: the same layout plus each layer's four extra norms; the LM head is
// the tied table (a second copy in the GEMV layout) unless the file has one.
DeviceWeights upload_weights(const ModelConfig& config, const Gemma3Weights& host, bool force_fp16);

}  // namespace loom::cuda_backend
