#include "kernels/cpu/rope.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace loom::cpu {

namespace {

// Rotates one head in place from a (cos, sin) table; `offset` is the distance
// between the two elements of a pair (1 for NORM, n_rot/2 for NEOX).
void rotate_head(const RopeParams& p, const float* cos_sin, float* head) {
  const int32_t half = p.n_rot / 2;
  const bool neox = p.mode == RopeMode::kNeox;
  for (int32_t i = 0; i < half; ++i) {
    const int32_t a = neox ? i : 2 * i;
    const int32_t b = neox ? i + half : 2 * i + 1;
    const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
    const float x0 = head[a], x1 = head[b];
    // ggml's rotate_pairs as GCC compiles it: the first product fused.
    head[a] = std::fma(x0, c, -(x1 * s));
    head[b] = std::fma(x0, s, x1 * c);
  }
}

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument("rope: " + what); }

}  // namespace

void rope_validate(const RopeParams& p) {
  if (p.head_dim <= 0) fail("head_dim must be > 0, got " + std::to_string(p.head_dim));
  if (p.n_rot <= 0 || p.n_rot % 2 != 0 || p.n_rot > p.head_dim) {
    fail("n_rot must be even and in (0, head_dim=" + std::to_string(p.head_dim) + "], got " +
         std::to_string(p.n_rot));
  }
  if (!(p.freq_base > 0.0f) || !std::isfinite(p.freq_base)) fail("freq_base must be finite and > 0");
  if (!(p.freq_scale > 0.0f) || !std::isfinite(p.freq_scale)) fail("freq_scale must be finite and > 0");
}

void rope_cos_sin(const RopeParams& p, int32_t pos, float* cos_sin) {
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  float theta = static_cast<float>(pos);
  for (int32_t i = 0; i < p.n_rot / 2; ++i) {
    const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
    const float angle = p.freq_scale * (theta / ff);
    cos_sin[2 * i] = std::cos(angle);
    cos_sin[2 * i + 1] = std::sin(angle);
    theta *= theta_scale;
  }
}

void rope_apply(const RopeParams& p, float* x, int32_t n_tokens, int32_t n_heads,
                const int32_t* positions) {
  rope_validate(p);
  std::vector<float> cos_sin(p.n_rot);
  for (int32_t t = 0; t < n_tokens; ++t) {
    rope_cos_sin(p, positions[t], cos_sin.data());
    float* token = x + static_cast<int64_t>(t) * n_heads * p.head_dim;
    for (int32_t h = 0; h < n_heads; ++h) rotate_head(p, cos_sin.data(), token + h * p.head_dim);
  }
}

namespace ref {
void rope_apply(const RopeParams& p, float* x, int32_t n_tokens, int32_t n_heads,
                const int32_t* positions) {
  rope_validate(p);
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  const int32_t half = p.n_rot / 2;
  for (int32_t t = 0; t < n_tokens; ++t) {
    for (int32_t h = 0; h < n_heads; ++h) {
      float* head = x + (static_cast<int64_t>(t) * n_heads + h) * p.head_dim;
      float theta = static_cast<float>(positions[t]);
      for (int32_t i = 0; i < half; ++i) {
        const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
        const float angle = p.freq_scale * (theta / ff);
        const float c = std::cos(angle), s = std::sin(angle);
        float& x0 = head[p.mode == RopeMode::kNeox ? i : 2 * i];
        float& x1 = head[p.mode == RopeMode::kNeox ? i + half : 2 * i + 1];
        const float a = x0, b = x1;
        x0 = std::fma(a, c, -(b * s));
        x1 = std::fma(a, s, b * c);
        theta *= theta_scale;
      }
    }
  }
}
}  // namespace ref

// Mirrors convert_hf_to_gguf.py: freqs = 1 / base^(2i/dim) in float32, then the
// wavelength bands in double: short wavelengths keep factor 1, long ones get
// `factor`, the band between is smoothly interpolated.
std::vector<float> llama3_rope_factors(const Llama3RopeScaling& s, float freq_base, int32_t n_rot) {
  if (n_rot <= 0 || n_rot % 2 != 0) throw std::invalid_argument("llama3_rope_factors: bad n_rot");
  if (!(s.factor > 0) || s.original_context_length <= 0 || !(s.high_freq_factor > 0) ||
      !(s.low_freq_factor > 0)) {
    throw std::invalid_argument("llama3_rope_factors: factors and context length must be > 0");
  }
  const double old_ctx = s.original_context_length;
  const double low_wavelen = old_ctx / s.low_freq_factor;
  const double high_wavelen = old_ctx / s.high_freq_factor;
  std::vector<float> factors(n_rot / 2);
  for (int32_t i = 0; i < n_rot / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(n_rot);
    const float freq = 1.0f / std::pow(freq_base, exponent);
    const double wavelen = 2.0 * std::numbers::pi / static_cast<double>(freq);
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;
    } else if (wavelen > low_wavelen) {
      f = s.factor;
    } else {
      const double smooth =
          (old_ctx / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = 1.0 / ((1.0 - smooth) / s.factor + smooth);
    }
    factors[i] = static_cast<float>(f);
  }
  return factors;
}

}  // namespace loom::cpu
