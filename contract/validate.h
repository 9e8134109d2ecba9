// The one check of a job request, at the contract's door (the C ABI's
// submit). Doors only decode their wire format and map the JobError back to
// their own names; nothing else re-validates. What depends on the model
// (prompt tokens vs the context, token ids vs the vocabulary, a chat template
// that exists) is the engine's to check, with the same JobError shape.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "contract/job.h"

namespace loom {

// Static bounds on a request (the documented limits of every door).
struct JobLimits {
  size_t max_id_bytes = 128;             // `id`
  size_t max_prompt_bytes = 512 << 10;   // prompt text, and the sum of message contents
  size_t max_prompt_tokens = 65536;      // a prompt given as token ids
  size_t max_messages = 1024;
  size_t max_role_bytes = 64;
  size_t max_stop_strings = 16;
  size_t max_stop_bytes = 256;           // each stop string
  size_t max_stop_token_ids = 64;
  int32_t max_tokens = 1 << 20;          // the context is the real bound
  int32_t max_logprobs = sampling::kMaxTopLogprobs;
  int64_t max_deadline_ms = 24LL * 3600 * 1000;
  int32_t max_priority = 1000;           // |priority|
};

// nullopt when the job may go to the engine; otherwise the first problem.
// Field names are the contract's: "id", "prompt", "prompt_tokens",
// "messages[2].content", "max_tokens", "top_p", "stop[3]", "stop_token_ids",
// "logprobs", "prompt_logprobs", "priority", "deadline_ms" (doors map them onto their wire's).
std::optional<JobError> validate_job(const JobRequest& job, const JobLimits& limits = {});

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF); else `bad_offset` is the first bad byte.
bool is_valid_utf8(std::string_view text, size_t* bad_offset = nullptr);

}  // namespace loom
