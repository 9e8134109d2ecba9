#include "backends/common/model/gemma3_weights.h"

#include <string>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/weight_binding.h"

namespace loom {
namespace {

using detail::matrix;
using detail::vector_f32;

Gemma3LayerWeights bind_layer(const GgufFile& f, const ModelConfig& c, int layer) {
  const std::string p = "blk." + std::to_string(layer) + ".";
  Gemma3LayerWeights w;
  w.attn_norm = vector_f32(f, p + "attn_norm.weight", c.dim);
  w.wq = matrix(f, p + "attn_q.weight", c.q_dim(), c.dim);
  w.wk = matrix(f, p + "attn_k.weight", c.kv_dim(), c.dim);
  w.wv = matrix(f, p + "attn_v.weight", c.kv_dim(), c.dim);
  w.wo = matrix(f, p + "attn_output.weight", c.dim, c.q_dim());
  w.q_norm = vector_f32(f, p + "attn_q_norm.weight", c.head_dim);
  w.k_norm = vector_f32(f, p + "attn_k_norm.weight", c.head_dim);
  w.post_attn_norm = vector_f32(f, p + "post_attention_norm.weight", c.dim);
  w.ffn_norm = vector_f32(f, p + "ffn_norm.weight", c.dim);
  w.w_gate = matrix(f, p + "ffn_gate.weight", c.ffn_dim, c.dim);
  w.w_up = matrix(f, p + "ffn_up.weight", c.ffn_dim, c.dim);
  w.w_down = matrix(f, p + "ffn_down.weight", c.dim, c.ffn_dim);
  w.post_ffn_norm = vector_f32(f, p + "post_ffw_norm.weight", c.dim);
  return w;
}

}  // namespace

Gemma3Weights bind_gemma3_weights(const GgufFile& f, const ModelConfig& c) {
  Gemma3Weights w;
  w.token_embd = matrix(f, "token_embd.weight", c.n_vocab, c.dim);
  for (int i = 0; i < c.n_layers; ++i) w.layers.push_back(bind_layer(f, c, i));
  w.output_norm = vector_f32(f, "output_norm.weight", c.dim);
  w.output = c.tied_embeddings ? w.token_embd : matrix(f, "output.weight", c.n_vocab, c.dim);
  return w;
}

}  // namespace loom
