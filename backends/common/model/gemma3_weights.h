// The tensors of a Gemma 3 model, bound in place from a mapped GGUF file
// (quantized weights stay quantized). Next to Llama's: RMSNorms after
// attention and after the FFN, and per-head RMSNorms of q and k. The norm
// weights are used as stored: convert_hf_to_gguf.py already folded Gemma's
// (1 + w) convention into them.
#pragma once
#include <vector>

#include "backends/common/model/model_config.h"
#include "kernels/cpu/matmul.h"

namespace loom {

class GgufFile;

struct Gemma3LayerWeights {
  const float* attn_norm = nullptr;       // [dim]
  WeightView wq, wk, wv, wo;              // [q_dim x dim], [kv_dim x dim] x2, [dim x q_dim]
  const float* q_norm = nullptr;          // [head_dim], per query head
  const float* k_norm = nullptr;          // [head_dim], per KV head
  const float* post_attn_norm = nullptr;  // [dim]
  const float* ffn_norm = nullptr;        // [dim]
  WeightView w_gate, w_up, w_down;        // [ffn x dim] x2, [dim x ffn]
  const float* post_ffn_norm = nullptr;   // [dim]
};

struct Gemma3Weights {
  WeightView token_embd;  // [n_vocab x dim]
  std::vector<Gemma3LayerWeights> layers;
  const float* output_norm = nullptr;  // [dim]
  WeightView output;                   // [n_vocab x dim]; token_embd when tied
};

// Throws ModelError naming the tensor whose presence, type or shape is wrong.
Gemma3Weights bind_gemma3_weights(const GgufFile& file, const ModelConfig& config);

}  // namespace loom
