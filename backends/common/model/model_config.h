// The hyperparameters of a Llama-family model, read from GGUF metadata.
// Architectures: "llama" (Llama 2/3, Mistral, SmolLM, TinyLlama) and "qwen2"
// (QKV bias, NEOX-style RoPE). Anything else is refused by name.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace loom {

class GgufFile;

struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class RopeStyle {
  kAdjacentPairs,  // ggml "NORM": rotates (x[2i], x[2i+1]); llama GGUFs are permuted for it
  kHalves,         // ggml "NEOX": rotates (x[i], x[i + n_rot/2]); qwen2
};

struct ModelConfig {
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

  int32_t q_dim() const { return n_heads * head_dim; }
  int32_t kv_dim() const { return n_kv_heads * head_dim; }
};

// Reads and validates the config; throws ModelError naming the missing or bad key.
ModelConfig read_model_config(const GgufFile& file);

}  // namespace loom
