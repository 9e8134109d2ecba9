#include <array>
#include <utility>

#include "contract/job.h"

namespace loom {
namespace {

constexpr std::array<std::pair<FinishReason, const char*>, 4> kFinishNames{{
    {FinishReason::kStop, "stop"},
    {FinishReason::kLength, "length"},
    {FinishReason::kCancelled, "cancelled"},
    {FinishReason::kDeadline, "deadline"},
}};

constexpr std::array<std::pair<ErrorCode, const char*>, 5> kErrorNames{{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kTooLong, "too_long"},
    {ErrorCode::kOverloaded, "overloaded"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kInternal, "internal"},
}};

}  // namespace

const char* error_code_name(ErrorCode code) {
  for (const auto& [c, name] : kErrorNames)
    if (c == code) return name;
  return "internal";
}

std::optional<FinishReason> finish_reason_from_name(std::string_view name) {
  for (const auto& [r, n] : kFinishNames)
    if (name == n) return r;
  return std::nullopt;
}

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
  for (const auto& [c, n] : kErrorNames)
    if (name == n) return c;
  return std::nullopt;
}

}  // namespace loom
