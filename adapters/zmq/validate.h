// Range and size checks on a decoded `generate` job (PROTOCOL.md, "Limits").
// What depends on the model (prompt tokens vs context, token ids vs vocab)
// is the engine's to check; it answers those with `too_long`/`bad_request`.
#pragma once
#include <optional>
#include <string_view>

#include "adapters/zmq/protocol.h"

namespace loom::zmq_proto {

// nullopt when the job may go to the engine; otherwise the first problem.
std::optional<ProtocolError> validate_job(const JobRequest& job, const Limits& limits);

// True when `text` is well-formed UTF-8; else `bad_offset` is the first bad byte.
bool is_valid_utf8(std::string_view text, size_t* bad_offset = nullptr);

}  // namespace loom::zmq_proto
