// Per-request sampling parameters and their validation.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace loom::sampling {

inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy (argmax); must be >= 0
  int32_t top_k = 0;                // 0 = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1]; 0 = off; keeps p >= min_p * p_max
  float repetition_penalty = 1.0f;  // > 0; 1 = off (llama.cpp's penalty_repeat)
  float presence_penalty = 0.0f;    // OpenAI-style, subtracted once per seen token
  float frequency_penalty = 0.0f;   // OpenAI-style, subtracted per occurrence
  int32_t penalty_last_n = 64;      // history window for all penalties; >= 0
  uint64_t seed = 0;                // used when has_seed; else a random seed
  bool has_seed = false;
  int32_t top_logprobs = 0;         // [0, kMaxTopLogprobs] alternatives to report
};

// nullopt when valid; otherwise a message naming the first bad field and its
// value, e.g. "top_p must be in (0, 1], got 1.5".
std::optional<std::string> validate(const SamplingParams& p);

}  // namespace loom::sampling
