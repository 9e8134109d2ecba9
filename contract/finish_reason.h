// Why a job ended normally: the one enum the scheduler, the engine and every
// door share (the scheduler needs it without the rest of the contract).
#pragma once
#include <cstdint>

namespace loom {

enum class FinishReason : uint8_t {
  kStop,       // EOS, a stop string or a stop token
  kLength,     // max_tokens reached
  kCancelled,  // cancel(), a vanished client, a drain past its timeout
  kDeadline,   // its deadline passed
};

// "stop", "length", "cancelled", "deadline": the contract's names.
constexpr const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kDeadline: return "deadline";
  }
  return "unknown";
}

}  // namespace loom
