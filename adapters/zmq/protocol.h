// The v1 job protocol as C++ types: the messages a client sends, the limits
// the backend enforces, and the error a bad frame earns. PROTOCOL.md is the
// normative text; the names here follow it field for field.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "backends/common/engine/engine_api.h"
#include "backends/common/sampling/sampling_params.h"

namespace loom::zmq_proto {

inline constexpr int kProtocolVersion = 1;

// Static bounds checked before a job reaches the engine (the engine itself
// checks what depends on the model: prompt tokens and max_tokens vs context).
struct Limits {
  size_t max_frame_bytes = 1 << 20;      // whole msgpack frame
  size_t max_id_bytes = 128;             // `id`
  size_t max_prompt_bytes = 512 << 10;   // `prompt`, and the sum of `messages[].content`
  size_t max_input_ids = 65536;          // `input_ids` length
  size_t max_messages = 1024;            // `messages` length
  size_t max_role_bytes = 64;            // `messages[].role`
  size_t max_stop_strings = 16;          // `params.stop` length
  size_t max_stop_bytes = 256;           // each `params.stop` entry
  size_t max_stop_token_ids = 64;        // `params.stop_token_ids` length
  int32_t max_tokens = 1 << 20;          // `params.max_tokens` upper bound
  int32_t max_logprobs = sampling::kMaxTopLogprobs;  // `params.logprobs`
  int64_t max_deadline_ms = 24LL * 3600 * 1000;      // `deadline_ms`
  int32_t max_priority = 1000;           // |priority|
};

// One rejected frame. `field` is a dotted path ("params.top_p",
// "messages[2].role") or "" when the frame as a whole is at fault.
struct ProtocolError {
  ErrorCode code = ErrorCode::kBadRequest;
  std::string field;
  std::string message;  // says what was expected and what arrived
};

struct CancelRequest {
  std::string id;  // the client id of a job in flight
};
struct StatsRequest {
  std::optional<std::string> id;  // echoed in the reply; nil when absent
};
struct HealthRequest {
  std::optional<std::string> id;
};

using ClientMessage = std::variant<JobRequest, CancelRequest, StatsRequest, HealthRequest>;

// The decoder's answer for one frame.
struct Decoded {
  std::optional<std::string> id;          // set once a well-formed `id` was read
  std::optional<ProtocolError> error;     // set when the frame is rejected
  ClientMessage message;                  // meaningful only without error
  std::vector<std::string> ignored_fields;  // unknown keys, as dotted paths
};

}  // namespace loom::zmq_proto
