// Rotary position embedding, matching ggml's rope (no YaRN: ext_factor 0,
// attn_factor 1). For rotated pair i (0 <= i < n_rot/2):
//   theta_i = freq_scale * (pos * theta_scale^i) / freq_factor[i],
//   theta_scale = powf(freq_base, -2/n_rot),
// with pos * theta_scale^i built by repeated float multiplication as ggml does.
// Dimensions n_rot..head_dim-1 pass through unchanged.
#pragma once
#include <cstdint>
#include <vector>

namespace loom::cpu {

enum class RopeMode {
  kNorm,  // pairs (2i, 2i+1): ggml mode 0, llama arch
  kNeox,  // pairs (i, i + n_rot/2): ggml mode 2 (NEOX), qwen2 and others
};

struct RopeParams {
  RopeMode mode = RopeMode::kNorm;
  int32_t head_dim = 0;
  int32_t n_rot = 0;                    // rope.dimension_count: even, <= head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              // linear scaling: 1 / rope.scaling.factor
  const float* freq_factors = nullptr;  // [n_rot/2] divisors (rope_freqs.weight), or null
};

// Throws std::invalid_argument naming the bad field.
void rope_validate(const RopeParams& p);

// cos_sin: [n_rot] as (cos_0, sin_0, cos_1, sin_1, ...) for one position.
void rope_cos_sin(const RopeParams& p, int32_t pos, float* cos_sin);

// In place on x: [n_tokens][n_heads][head_dim]; positions: [n_tokens].
// The cos/sin table is computed once per token and shared by its heads.
void rope_apply(const RopeParams& p, float* x, int32_t n_tokens, int32_t n_heads,
                const int32_t* positions);

namespace ref {
// Recomputes theta per (token, head) with the same formula; plain loops.
void rope_apply(const RopeParams& p, float* x, int32_t n_tokens, int32_t n_heads,
                const int32_t* positions);
}  // namespace ref

// Llama 3 frequency factors (what convert_hf_to_gguf.py stores as
// rope_freqs.weight for rope_type "llama3"): [n_rot/2] divisors.
struct Llama3RopeScaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  int32_t original_context_length = 8192;
};
std::vector<float> llama3_rope_factors(const Llama3RopeScaling& s, float freq_base, int32_t n_rot);

}  // namespace loom::cpu
