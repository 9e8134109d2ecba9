// Streamed generation for one sequence: prefill the prompt, then sample,
// check stop conditions and detokenize one token at a time. The CLI's path;
// the serving engine batches many of these through the scheduler instead.
#pragma once
#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/common/sampling/sampling_params.h"
#include "backends/cpu/cpu_model.h"

namespace loom::cli {

struct GenerateOptions {
  sampling::SamplingParams sampling;
  int32_t max_tokens = 256;
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;
};

struct GenerateResult {
  std::vector<int32_t> tokens;
  std::string finish_reason;  // "stop" (end-of-generation or stop token) or "length"
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Calls on_text with each complete UTF-8 piece as soon as it is known.
GenerateResult generate(CpuModel& model, SingleSequence& seq, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<void(std::string_view)>& on_text);

}  // namespace loom::cli
