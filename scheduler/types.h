// Plain types shared by the scheduler, the KV cache manager and the step plan.
// The scheduler never reads a clock: callers pass `now` as a TimePoint.
#pragma once
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "contract/finish_reason.h"

namespace loom::sched {

using RequestId = uint64_t;
using TokenId = int32_t;
using BlockId = int32_t;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Why a request left the scheduler, exactly one per request: the engine
// contract's enum (contract/finish_reason.h). kStop: the caller saw EOS or a
// stop sequence (flag in update()); kLength: max_new_tokens reached (decided
// in update()); kCancelled: cancel(id), reported by the next schedule();
// kDeadline: reported by the schedule() that saw it pass.
using loom::FinishReason;

enum class RequestState : uint8_t {
  kWaiting,    // queued, never admitted (or admitted and not yet holding blocks)
  kRunning,    // holds KV blocks, scheduled every step it fits
  kPreempted,  // blocks freed; recomputes prompt + generated tokens on resume
};

std::string_view request_state_name(RequestState state);

// Every misuse of the scheduler API (bad request, unknown id, plan/result
// mismatch) throws this with a message naming the offending value.
class SchedulerError : public std::runtime_error {
 public:
  explicit SchedulerError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace loom::sched
