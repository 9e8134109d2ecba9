// The messages the engine's three threads pass each other (they travel in
// contract/blocking_queue.h).
#pragma once
#include <optional>
#include <vector>

#include "contract/blocking_queue.h"
#include "contract/engine_api.h"
#include "backends/common/sampling/sampler.h"
#include "scheduler/types.h"

namespace loom {

using Clock = std::chrono::steady_clock;

// Submitted, not yet tokenized (intake thread).
struct IntakeItem {
  uint64_t rid = 0;
  JobRequest request;
  JobCallback callback;
  Clock::time_point arrival;
};

// Tokenized and accepted: the engine thread's input.
struct NewJob {
  uint64_t rid = 0;
  std::vector<int32_t> prompt;
  JobParams params;
  int32_t priority = 0;
  Clock::time_point arrival;
  std::optional<Clock::time_point> deadline;
};

struct EngineCommand {
  enum class Kind { kNewJob, kCancel, kStopQuietly } kind = Kind::kNewJob;
  uint64_t rid = 0;
  std::optional<NewJob> job;  // kNewJob
};

// To the output thread, in order per job: kRegister, kTokens... (and, for a
// prompt_logprobs job, kPromptLogprobs before the tokens of the same step),
// kFinish (or a single kReject for a job that never registered).
struct OutMsg {
  enum class Kind { kRegister, kTokens, kPromptLogprobs, kFinish, kError, kReject } kind = Kind::kTokens;
  uint64_t rid = 0;
  // kRegister / kReject
  std::string id;
  JobCallback callback;
  bool stream = true;
  std::vector<std::string> stop;
  int32_t prompt_tokens = 0;
  Clock::time_point arrival;
  // kTokens
  std::vector<int32_t> tokens;
  std::vector<TokenLogprobs> logprobs;
  // kPromptLogprobs: the next values of JobEvent::prompt_logprobs, in order
  std::vector<float> prompt_logprobs;
  // kTokens / kFinish: when the engine first scheduled it (queue_ms), and
  // prefix-cache hits at admission.
  std::optional<Clock::time_point> first_scheduled;
  int32_t cached_tokens = 0;
  // kFinish
  FinishReason reason = FinishReason::kStop;
  // kError / kReject
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

}  // namespace loom
