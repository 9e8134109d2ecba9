// The v1 job protocol as C++ types: the messages a client sends, the limits
// the backend enforces, and the error a bad frame earns. PROTOCOL.md is the
// normative text; the names here follow it field for field.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "contract/engine_api.h"
#include "contract/sampling_params.h"

namespace loom::zmq_proto {

inline constexpr int kProtocolVersion = 1;

// What the transport bounds before decoding further. A job's own fields are
// checked once, at the contract's door (contract/validate.h, JobLimits).
struct Limits {
  size_t max_frame_bytes = 1 << 20;  // whole msgpack frame
  size_t max_id_bytes = 128;         // `id` (it routes replies, so the transport reads it)
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
