#include "backends/common/model/model_config.h"

#include <cmath>
#include <string_view>

#include "backends/common/gguf/gguf_file.h"

namespace loom {
namespace {

std::string key(const std::string& arch, std::string_view suffix) {
  return arch + "." + std::string(suffix);
}

int32_t required_int(const GgufFile& f, const std::string& k) {
  auto v = f.get_u32(k);
  if (!v) throw ModelError("model metadata lacks '" + k + "' (" + f.path() + ")");
  if (*v == 0 || *v > (1u << 30))
    throw ModelError("model metadata '" + k + "' = " + std::to_string(*v) + " is out of range");
  return static_cast<int32_t>(*v);
}

RopeStyle rope_style_for(const std::string& arch) {
  // llama.cpp's llama_model_rope_type(): qwen2 and gemma3 use NEOX, llama NORM.
  return arch == "llama" ? RopeStyle::kAdjacentPairs : RopeStyle::kHalves;
}

ModelFamily family_for(const GgufFile& f, const std::string& arch) {
  if (arch == "llama" || arch == "qwen2") return ModelFamily::kLlama;
  if (arch == "gemma3") return ModelFamily::kGemma3;
  throw ModelError("unsupported model architecture '" + arch + "' in " + f.path() +
                   " (Loom runs llama, qwen2 and gemma3 GGUFs)");
}

void check_consistency(const ModelConfig& c) {
  if (c.n_heads % c.n_kv_heads != 0)
    throw ModelError("head_count " + std::to_string(c.n_heads) + " is not a multiple of head_count_kv " +
                     std::to_string(c.n_kv_heads));
  if (c.rope_dims <= 0 || c.rope_dims > c.head_dim || c.rope_dims % 2 != 0)
    throw ModelError("rope.dimension_count " + std::to_string(c.rope_dims) +
                     " must be even and at most the head size " + std::to_string(c.head_dim));
  if (!(c.rms_eps > 0.0f) || !std::isfinite(c.rope_freq_base) || c.rope_freq_base <= 0.0f)
    throw ModelError("model metadata has a non-positive rms epsilon or rope base");
}

}  // namespace

ModelConfig read_model_config(const GgufFile& f) {
  ModelConfig c;
  c.arch = f.get_string("general.architecture").value_or("");
  c.family = family_for(f, c.arch);
  c.name = f.get_string("general.name").value_or(c.arch);
  c.n_layers = required_int(f, key(c.arch, "block_count"));
  c.dim = required_int(f, key(c.arch, "embedding_length"));
  c.ffn_dim = required_int(f, key(c.arch, "feed_forward_length"));
  c.n_heads = required_int(f, key(c.arch, "attention.head_count"));
  c.n_kv_heads = f.get_u32(key(c.arch, "attention.head_count_kv")).value_or(c.n_heads);
  if (c.n_kv_heads <= 0) throw ModelError("attention.head_count_kv must be positive");
  c.head_dim = static_cast<int32_t>(
      f.get_u32(key(c.arch, "attention.key_length")).value_or(c.dim / c.n_heads));
  c.context_length = static_cast<int32_t>(f.get_u32(key(c.arch, "context_length")).value_or(2048));
  c.rms_eps = f.get_f32(key(c.arch, "attention.layer_norm_rms_epsilon")).value_or(1e-5f);
  c.rope_style = rope_style_for(c.arch);
  c.rope_dims = static_cast<int32_t>(f.get_u32(key(c.arch, "rope.dimension_count")).value_or(c.head_dim));
  c.rope_freq_base = f.get_f32(key(c.arch, "rope.freq_base")).value_or(10000.0f);
  const std::string scaling = f.get_string(key(c.arch, "rope.scaling.type")).value_or("none");
  if (scaling == "linear") {
    const float factor = f.get_f32(key(c.arch, "rope.scaling.factor")).value_or(1.0f);
    if (!(factor > 0.0f)) throw ModelError("rope.scaling.factor must be positive");
    c.rope_freq_scale = 1.0f / factor;
  } else if (scaling != "none" && scaling != "llama3") {
    throw ModelError("unsupported rope scaling '" + scaling + "' (supported: none, linear, llama3)");
  }
  c.has_rope_freq_factors = f.find_tensor("rope_freqs.weight") != nullptr;
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.has_qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  const auto* embd = f.find_tensor("token_embd.weight");
  if (!embd) throw ModelError("model lacks tensor 'token_embd.weight' (" + f.path() + ")");
  c.n_vocab = static_cast<int32_t>(embd->ne[1]);
  if (c.family == ModelFamily::kGemma3) read_gemma3_config(f, c);
  check_consistency(c);
  return c;
}

}  // namespace loom
