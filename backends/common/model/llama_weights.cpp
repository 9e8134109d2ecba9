#include "backends/common/model/llama_weights.h"

#include <string>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/weight_binding.h"

namespace loom {
namespace {

using detail::matrix;
using detail::vector_f32;

LlamaLayerWeights bind_layer(const GgufFile& f, const ModelConfig& c, int layer) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  LlamaLayerWeights w;
  w.attn_norm = vector_f32(f, p + "attn_norm.weight", c.dim);
  w.wq = matrix(f, p + "attn_q.weight", c.q_dim(), c.dim);
  w.wk = matrix(f, p + "attn_k.weight", c.kv_dim(), c.dim);
  w.wv = matrix(f, p + "attn_v.weight", c.kv_dim(), c.dim);
  w.wo = matrix(f, p + "attn_output.weight", c.dim, c.q_dim());
  w.bq = vector_f32(f, p + "attn_q.bias", c.q_dim(), !c.has_qkv_bias);
  w.bk = vector_f32(f, p + "attn_k.bias", c.kv_dim(), !c.has_qkv_bias);
  w.bv = vector_f32(f, p + "attn_v.bias", c.kv_dim(), !c.has_qkv_bias);
  w.ffn_norm = vector_f32(f, p + "ffn_norm.weight", c.dim);
  w.w_gate = matrix(f, p + "ffn_gate.weight", c.ffn_dim, c.dim);
  w.w_up = matrix(f, p + "ffn_up.weight", c.ffn_dim, c.dim);
  w.w_down = matrix(f, p + "ffn_down.weight", c.dim, c.ffn_dim);
  return w;
}

}  // namespace

LlamaWeights bind_llama_weights(const GgufFile& f, const ModelConfig& c) {
  LlamaWeights w;
  w.token_embd = matrix(f, "token_embd.weight", c.n_vocab, c.dim);
  for (int i = 0; i < c.n_layers; ++i) w.layers.push_back(bind_layer(f, c, i));
  w.output_norm = vector_f32(f, "output_norm.weight", c.dim);
  w.output = c.tied_embeddings ? w.token_embd : matrix(f, "output.weight", c.n_vocab, c.dim);
  if (c.has_rope_freq_factors)
    w.rope_freq_factors = vector_f32(f, "rope_freqs.weight", c.rope_dims / 2);
  return w;
}

}  // namespace loom
