// Gemma 3's hyperparameters beyond the shared ones, as llama.cpp reads them
// (src/models/gemma3.cpp): the sliding window and which layers use it (every
// layer but each `pattern`-th, pattern 6 by default), the local RoPE base,
// the optional final logit soft-cap, sqrt(dim) embedding scale and the query
// scale (1/sqrt(head_dim); 1/sqrt(dim/heads) for the 62-layer 27B).
#include <cmath>
#include <variant>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/model_config.h"

namespace loom {

void read_gemma3_config(const GgufFile& f, ModelConfig& c) {
  const std::string p = c.arch + ".";
  c.embed_scale = std::sqrt(static_cast<float>(c.dim));
  c.query_scale = c.n_layers == 62 ? 1.0f / std::sqrt(static_cast<float>(c.dim / c.n_heads))
                                   : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  c.final_logit_softcap = f.get_f32(p + "final_logit_softcapping").value_or(0.0f);
  c.sliding_window = static_cast<int32_t>(f.get_u32(p + "attention.sliding_window").value_or(0));
  c.layer_is_sliding.assign(static_cast<size_t>(c.n_layers), 0);
  if (c.sliding_window <= 0) return;
  const std::string pattern_key = p + "attention.sliding_window_pattern";
  if (const GgufValue* v = f.find(pattern_key); v && std::holds_alternative<GgufArray>(v->v))
    throw ModelError("per-layer array '" + pattern_key + "' is not supported (" + f.path() + ")");
  const uint32_t pattern = f.get_u32(pattern_key).value_or(6);
  for (int32_t l = 0; l < c.n_layers; ++l)
    c.layer_is_sliding[l] = pattern == 0 || static_cast<uint32_t>(l) % pattern < pattern - 1;
  c.rope_freq_base_sliding = f.get_f32(p + "rope.freq_base_swa").value_or(10000.0f);
  if (!std::isfinite(c.rope_freq_base_sliding) || c.rope_freq_base_sliding <= 0.0f)
    throw ModelError("'" + p + "rope.freq_base_swa' must be positive");
}

}  // namespace loom
