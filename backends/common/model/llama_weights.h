// The tensors of a Llama-family model, bound in place from a mapped GGUF file
// (quantized weights stay quantized; nothing is copied). Shapes are checked
// against the config at bind time so the forward pass can trust them.
#pragma once
#include <vector>

#include "backends/common/model/model_config.h"
#include "kernels/cpu/matmul.h"

namespace loom {

class GgufFile;

struct LlamaLayerWeights {
  const float* attn_norm = nullptr;  // [dim]
  WeightView wq, wk, wv, wo;         // [q_dim x dim], [kv_dim x dim] x2, [dim x q_dim]
  const float* bq = nullptr;         // [q_dim] qwen2 only, else null
  const float* bk = nullptr;         // [kv_dim]
  const float* bv = nullptr;         // [kv_dim]
  const float* ffn_norm = nullptr;   // [dim]
  WeightView w_gate, w_up, w_down;   // [ffn x dim] x2, [dim x ffn]
};

struct LlamaWeights {
  WeightView token_embd;              // [n_vocab x dim], any supported type
  std::vector<LlamaLayerWeights> layers;
  const float* output_norm = nullptr;  // [dim]
  WeightView output;                   // [n_vocab x dim]; token_embd when tied
  const float* rope_freq_factors = nullptr;  // [rope_dims / 2] or null
};

// Throws ModelError naming the tensor whose presence, type or shape is wrong.
LlamaWeights bind_llama_weights(const GgufFile& file, const ModelConfig& config);

}  // namespace loom
