// The hyperparameters of a model, read from GGUF metadata. Families and
// their architectures: Llama ("llama": Llama 2/3, Mistral, SmolLM,
// TinyLlama; "qwen2": QKV bias, NEOX-style RoPE) and Gemma 3 ("gemma3":
// sliding-window layers, QK-norm, GeGLU; gemma3_config.cpp). Anything else
// is refused by name.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace loom {

class GgufFile;

struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class RopeStyle {
  kAdjacentPairs,  // ggml "NORM": rotates (x[2i], x[2i+1]); llama GGUFs are permuted for it
  kHalves,         // ggml "NEOX": rotates (x[i], x[i + n_rot/2]); qwen2
};

enum class ModelFamily {
  kLlama,   // llama, qwen2: pre-norm blocks, SwiGLU
  kGemma3,  // gemma3: pre- and post-norms, QK-norm, GeGLU, local/global layers
};

struct ModelConfig {
  ModelFamily family = ModelFamily::kLlama;
  std::string arch;
  std::string name;
  int32_t n_layers = 0;
  int32_t dim = 0;          // embedding width
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t head_dim = 0;
  int32_t ffn_dim = 0;
  int32_t n_vocab = 0;
  int32_t context_length = 0;
  float rms_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  int32_t rope_dims = 0;    // rotated dimensions per head (<= head_dim)
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // linear position scaling (1 / scaling.factor)
  bool has_rope_freq_factors = false;  // rope_freqs.weight present (llama3 scaling)
  bool tied_embeddings = false;        // no output.weight: the token table is reused
  bool has_qkv_bias = false;

  // Set by the Gemma 3 family (the defaults leave a Llama model unchanged).
  float embed_scale = 1.0f;        // token embeddings are multiplied by it (Gemma: sqrt(dim))
  float query_scale = 0.0f;        // attention scale on q; 0: 1/sqrt(head_dim) in the kernel
  int32_t sliding_window = 0;      // keys a sliding-window layer sees (0: no such layers)
  std::vector<uint8_t> layer_is_sliding;  // [n_layers], 1 for a sliding-window layer
  float rope_freq_base_sliding = 10000.0f;  // RoPE base of the sliding-window layers
  float final_logit_softcap = 0.0f;         // > 0: logits = cap * tanh(logits / cap)

  bool is_sliding(int32_t layer) const {
    return layer >= 0 && static_cast<size_t>(layer) < layer_is_sliding.size() && layer_is_sliding[layer] != 0;
  }
  int32_t q_dim() const { return n_heads * head_dim; }
  int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads and validates the config; throws ModelError naming the missing or bad key.
ModelConfig read_model_config(const GgufFile& file);

// The family parts (gemma3_config.cpp): reads what Gemma 3 adds on top of the
// shared keys already in `config`.
void read_gemma3_config(const GgufFile& file, ModelConfig& config);

}  // namespace loom
