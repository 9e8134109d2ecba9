#include "contract/validate.h"

#include <cstdlib>
#include <string>

namespace loom {

namespace {

JobError bad(std::string field, std::string rule, ErrorCode code = ErrorCode::kBadRequest) {
  std::string message = field + ": " + rule;
  return JobError{code, std::move(field), std::move(message)};
}

std::string n(size_t v) { return std::to_string(v); }

std::optional<JobError> check_text(std::string_view text, const std::string& field) {
  size_t at = 0;
  if (!is_valid_utf8(text, &at)) return bad(field, "invalid UTF-8 at byte " + n(at));
  return std::nullopt;
}

std::optional<JobError> check_messages(const std::vector<ChatTurn>& turns, const JobLimits& l) {
  if (turns.empty()) return bad("messages", "must not be empty");
  if (turns.size() > l.max_messages) {
    return bad("messages", "at most " + n(l.max_messages) + " entries, got " + n(turns.size()),
               ErrorCode::kTooLong);
  }
  size_t total = 0;
  for (size_t i = 0; i < turns.size(); ++i) {
    const std::string at = "messages[" + n(i) + "]";
    if (turns[i].role.empty()) return bad(at + ".role", "must not be empty");
    if (turns[i].role.size() > l.max_role_bytes) {
      return bad(at + ".role", "at most " + n(l.max_role_bytes) + " bytes, got " + n(turns[i].role.size()));
    }
    if (auto e = check_text(turns[i].role, at + ".role")) return e;
    if (auto e = check_text(turns[i].content, at + ".content")) return e;
    total += turns[i].content.size();
  }
  if (total > l.max_prompt_bytes) {
    return bad("messages", "contents total " + n(total) + " bytes, more than " + n(l.max_prompt_bytes),
               ErrorCode::kTooLong);
  }
  return std::nullopt;
}

std::optional<JobError> check_prompt(const PromptInput& prompt, const JobLimits& l) {
  if (const auto* text = std::get_if<std::string>(&prompt.value)) {
    if (text->empty()) return bad("prompt", "must not be empty");
    if (text->size() > l.max_prompt_bytes) {
      return bad("prompt", n(text->size()) + " bytes, more than " + n(l.max_prompt_bytes),
                 ErrorCode::kTooLong);
    }
    return check_text(*text, "prompt");
  }
  if (const auto* ids = std::get_if<std::vector<int32_t>>(&prompt.value)) {
    if (ids->empty()) return bad("prompt_tokens", "must not be empty");
    if (ids->size() > l.max_prompt_tokens) {
      return bad("prompt_tokens", n(ids->size()) + " tokens, more than " + n(l.max_prompt_tokens),
                 ErrorCode::kTooLong);
    }
    return std::nullopt;
  }
  return check_messages(std::get<std::vector<ChatTurn>>(prompt.value), l);
}

std::optional<JobError> check_stops(const JobParams& p, const JobLimits& l) {
  if (p.stop.size() > l.max_stop_strings) {
    return bad("stop", "at most " + n(l.max_stop_strings) + " strings, got " + n(p.stop.size()));
  }
  for (size_t i = 0; i < p.stop.size(); ++i) {
    const std::string at = "stop[" + n(i) + "]";
    if (p.stop[i].empty()) return bad(at, "must not be empty");
    if (p.stop[i].size() > l.max_stop_bytes) {
      return bad(at, "at most " + n(l.max_stop_bytes) + " bytes, got " + n(p.stop[i].size()));
    }
    if (auto e = check_text(p.stop[i], at)) return e;
  }
  if (p.stop_token_ids.size() > l.max_stop_token_ids) {
    return bad("stop_token_ids",
               "at most " + n(l.max_stop_token_ids) + " ids, got " + n(p.stop_token_ids.size()));
  }
  return std::nullopt;
}

std::optional<JobError> check_params(const JobParams& p, const JobLimits& l) {
  if (p.max_tokens < 1) return bad("max_tokens", "must be >= 1, got " + std::to_string(p.max_tokens));
  if (p.max_tokens > l.max_tokens) {
    return bad("max_tokens",
               "at most " + std::to_string(l.max_tokens) + ", got " + std::to_string(p.max_tokens),
               ErrorCode::kTooLong);
  }
  if (p.logprobs < 0 || p.logprobs > l.max_logprobs) {
    return bad("logprobs", "must be in [0, " + std::to_string(l.max_logprobs) + "], got " +
                                      std::to_string(p.logprobs));
  }
  if (p.prompt_logprobs < 0 || p.prompt_logprobs > 1) {
    return bad("prompt_logprobs", "must be 0 or 1 (the log-probability of each prompt token), got " +
                                      std::to_string(p.prompt_logprobs));
  }
  if (auto e = check_stops(p, l)) return e;
  if (auto message = sampling::validate(p.sampling)) {
    // sampling::validate names the field first: "top_p must be in (0, 1], got 1.5".
    return JobError{ErrorCode::kBadRequest, message->substr(0, message->find(' ')), *message};
  }
  return std::nullopt;
}

}  // namespace

std::optional<JobError> validate_job(const JobRequest& job, const JobLimits& limits) {
  if (job.id.empty() || job.id.size() > limits.max_id_bytes)
    return bad("id", "must be 1.." + n(limits.max_id_bytes) + " bytes, got " + n(job.id.size()));
  if (auto e = check_prompt(job.prompt, limits)) return e;
  if (auto e = check_params(job.params, limits)) return e;
  if (std::abs(static_cast<int64_t>(job.priority)) > limits.max_priority) {
    return bad("priority", "must be in [-" + std::to_string(limits.max_priority) + ", " +
                               std::to_string(limits.max_priority) + "], got " + std::to_string(job.priority));
  }
  if (job.deadline) {
    const int64_t ms = job.deadline->count();
    if (ms <= 0 || ms > limits.max_deadline_ms) {
      return bad("deadline_ms", "must be in [1, " + std::to_string(limits.max_deadline_ms) +
                                    "], got " + std::to_string(ms));
    }
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view s, size_t* bad_offset) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len != 0 && i + len <= s.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    if (ok) {
      ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
           !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    }
    if (!ok) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace loom
