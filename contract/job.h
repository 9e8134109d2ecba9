// A job as every door and every backend sees it: the request, the events it
// produces, why it finished, how it failed. Defined once; the C ABI
// (plugin_api/include/loom/plugin.h) is its stable C face (contract/c_abi.h
// converts), and each door maps its own wire names onto these enums.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "contract/finish_reason.h"
#include "contract/sampling_params.h"

namespace loom {

struct ChatTurn {
  std::string role;
  std::string content;
};

// Exactly one of the three prompt forms is set.
struct PromptInput {
  std::variant<std::string, std::vector<int32_t>, std::vector<ChatTurn>> value;
};

struct JobParams {
  int32_t max_tokens = 256;
  sampling::SamplingParams sampling;
  std::vector<std::string> stop;        // stop strings; never emitted, even partially
  std::vector<int32_t> stop_token_ids;  // besides the model's end-of-generation ids
  bool ignore_eos = false;
  int32_t logprobs = 0;                 // top-n alternatives per token (0: none)
  // 1: the kDone event carries JobEvent::prompt_logprobs (0: none; other
  // values are refused, reserved for alternatives per prompt position).
  int32_t prompt_logprobs = 0;
};

struct JobRequest {
  std::string id;  // caller-chosen; unique among the caller's jobs in flight
  PromptInput prompt;
  JobParams params;
  bool stream = true;     // false: one kDone carrying the whole text
  int32_t priority = 0;   // higher runs first
  std::optional<std::chrono::milliseconds> deadline;  // from arrival, queueing included
};

// Why a job failed (or was refused).
enum class ErrorCode {
  kBadRequest,   // malformed or out-of-range request field
  kTooLong,      // a size limit, or prompt + max_tokens past the context
  kOverloaded,   // the engine's queue is full: retry later
  kUnavailable,  // not started, draining or stopped
  kInternal,     // a bug or a fatal engine failure
};

// The contract's own names, used in logs, stats and the C ABI's error_name
// (finish_reason_name is in finish_reason.h): "bad_request", "too_long",
// "overloaded", "unavailable", "internal". Doors keep their own wire tables.
const char* error_code_name(ErrorCode code);
std::optional<FinishReason> finish_reason_from_name(std::string_view name);
std::optional<ErrorCode> error_code_from_name(std::string_view name);

// A request refused before it ran: the code, the offending field as a dotted
// path ("params.top_p", "messages[2].role"; "" for the whole request) and a
// message that says what was expected and what arrived.
struct JobError {
  ErrorCode code = ErrorCode::kBadRequest;
  std::string field;
  std::string message;
};

struct TokenLogprobs {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // best alternatives, descending
};

struct JobUsage {
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;
  int32_t cached_tokens = 0;
};

struct JobTiming {
  double queue_ms = 0;  // arrival to first scheduled
  double ttft_ms = 0;   // arrival to first token
  double total_ms = 0;  // arrival to finish
};

struct JobEvent {
  enum class Kind { kDelta, kDone, kError } kind = Kind::kDelta;
  std::string id;
  // kDelta: new text (complete UTF-8, never part of a stop string) and ids.
  // kDone with stream == false: the whole text and ids.
  std::string text;
  std::vector<int32_t> token_ids;
  std::vector<TokenLogprobs> logprobs;
  // kDone
  FinishReason finish_reason = FinishReason::kStop;
  JobUsage usage;
  JobTiming timing;
  // kDone of a job with params.prompt_logprobs: entry i = log P(prompt[i+1] |
  // prompt[0..i]), prompt_tokens - 1 entries once the whole prompt was
  // computed (fewer when the job ended before that).
  std::vector<float> prompt_logprobs;
  // kError
  ErrorCode error_code = ErrorCode::kInternal;
  std::string message;
  std::string field;  // kError for a refused request: the offending field, if known
};

using JobCallback = std::function<void(const JobEvent&)>;

}  // namespace loom
