// The engine as its front ends see it: submit a job with a callback, cancel
// it, ask for stats and health. The ZeroMQ endpoint and the C ABI glue are
// written against this interface; backends implement it (Engine, in this
// folder, for every backend that runs scheduler steps).
//
// Threading: submit/cancel/stats/health may be called from any thread. The
// callback runs on an engine-owned thread (never inside submit), must not
// block, and must not call back into the engine except cancel(). Every
// accepted job gets exactly one terminal event (kDone or kError) and no
// event after it.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "backends/common/sampling/sampling_params.h"

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
};

struct JobRequest {
  std::string id;  // caller-chosen; unique among the caller's jobs in flight
  PromptInput prompt;
  JobParams params;
  bool stream = true;     // false: one kDone carrying the whole text
  int32_t priority = 0;   // higher runs first
  std::optional<std::chrono::milliseconds> deadline;  // from arrival, queueing included
};

enum class FinishReason { kStop, kLength, kCancelled, kDeadline };
enum class ErrorCode { kBadRequest, kTooLong, kOverloaded, kUnavailable, kInternal };

const char* finish_reason_name(FinishReason reason);  // "stop", "length", ...
const char* error_code_name(ErrorCode code);          // "bad_request", "too_long", ...

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
  // kError
  ErrorCode error_code = ErrorCode::kInternal;
  std::string message;
};

using JobCallback = std::function<void(const JobEvent&)>;

struct EngineStats {
  int32_t waiting = 0, running = 0, preempted = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0;
  double prefix_hit_rate = 0;
  int64_t preemptions = 0;       // since start, all requests
  double tokens_per_second = 0;  // generated, over the last few seconds
  int64_t jobs_finished = 0;
  double uptime_s = 0;
};

struct EngineHealth {
  bool ok = false;               // the loop made progress recently or is idle
  double last_step_age_ms = 0;   // since the engine loop last completed a step or idled
  std::string detail;
};

class EngineApi {
 public:
  virtual ~EngineApi() = default;
  // Rejections (bad request, too long, overloaded, stopping) arrive as one
  // kError event through the callback, like every other outcome.
  virtual void submit(JobRequest request, JobCallback callback) = 0;
  // Unknown or finished ids are ignored; a job in flight ends with kDone/kCancelled.
  virtual void cancel(const std::string& id) = 0;
  virtual EngineStats stats() const = 0;
  virtual EngineHealth health() const = 0;
};

}  // namespace loom
