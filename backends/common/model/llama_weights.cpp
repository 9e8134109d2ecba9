#include "backends/common/model/llama_weights.h"

#include <string>

#include "backends/common/gguf/gguf_file.h"

namespace loom {
namespace {

std::string shape_string(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

const GgufTensorInfo& require(const GgufFile& f, const std::string& name) {
  const auto* t = f.find_tensor(name);
  if (!t) throw ModelError("model lacks tensor '" + name + "' (" + f.path() + ")");
  return *t;
}

void check_shape(const GgufTensorInfo& t, int64_t ne0, int64_t ne1) {
  if (static_cast<int64_t>(t.ne[0]) != ne0 || static_cast<int64_t>(t.ne[1]) != ne1 || t.ne[2] != 1 ||
      t.ne[3] != 1)
    throw ModelError("tensor '" + t.name + "' has shape " + shape_string(t) + ", expected [" +
                     std::to_string(ne0) + ", " + std::to_string(ne1) + "]");
}

// A matrix of `rows` outputs over `cols` inputs (ggml ne = [cols, rows]).
WeightView matrix(const GgufFile& f, const std::string& name, int64_t rows, int64_t cols) {
  const auto& t = require(f, name);
  check_shape(t, cols, rows);
  if (!ggml_type_info(t.type).supported)
    throw ModelError("tensor '" + name + "' has type " + std::string(ggml_type_info(t.type).name) +
                     ", which Loom cannot compute with (supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q8_0 Q4_K Q5_K Q6_K)");
  return WeightView{t.type, f.tensor_data(t), rows, cols, t.n_bytes / static_cast<size_t>(rows)};
}

const float* vector_f32(const GgufFile& f, const std::string& name, int64_t n, bool optional = false) {
  const auto* t = f.find_tensor(name);
  if (!t) {
    if (optional) return nullptr;
    throw ModelError("model lacks tensor '" + name + "' (" + f.path() + ")");
  }
  check_shape(*t, n, 1);
  if (t->type != GgmlType::F32)
    throw ModelError("tensor '" + name + "' must be F32, found " + std::string(ggml_type_info(t->type).name));
  return reinterpret_cast<const float*>(f.tensor_data(*t));
}

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
