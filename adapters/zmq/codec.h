// msgpack frames <-> protocol messages (PROTOCOL.md). Pure functions, no
// sockets: the endpoint, the clients, the fuzzer and the tests all call these.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "adapters/zmq/protocol.h"

namespace loom::zmq_proto {

// ---- backend side: client frames in, backend frames out ------------------

// Decodes one client frame (types and structure; no range checks: a job's
// fields are checked once, at the contract's door, and its refusal comes back
// as an error event). Never throws for bad input: a rejected frame comes
// back with `error` set.
Decoded decode_client_frame(std::string_view frame, const Limits& limits);

// The v1 name of a contract request field (contract/validate.h):
// "top_p" -> "params.top_p", "stop[2]" -> "params.stop[2]",
// "prompt_tokens" -> "input_ids"; others ("prompt", "messages[0].role",
// "id", "priority", "deadline_ms") are the same on the wire.
std::string wire_field(std::string_view contract_field);
// A refusal in v1 terms: the field mapped, and the message's leading field
// name with it ("top_p must be ..." -> "params.top_p must be ...").
ProtocolError wire_error(ErrorCode code, std::string_view contract_field, std::string_view message);

// Endpoint-level counts that ride along with the engine's in replies.
struct StatsReply {
  EngineStats engine;
  int64_t clients = 0;         // clients the endpoint currently tracks
  int64_t jobs_in_flight = 0;  // accepted by the endpoint, not yet terminal
  int64_t auth_denied = 0;     // CURVE handshakes the endpoint refused
};
struct HealthReply {
  EngineHealth engine;
  bool draining = false;
  double uptime_s = 0;  // of the endpoint
};

// `delta`, `done` or `error` for one job event, addressed to `client_id` (the
// client's own id, not the engine's). `with_text`: a non-streamed job's done
// carries `text` and `token_ids`.
std::string encode_event(const JobEvent& event, std::string_view client_id, bool with_text);
// An `error` reply; `id` nil when the request's id is unknown.
std::string encode_error(const std::optional<std::string>& id, const ProtocolError& error);
std::string encode_stats(const std::optional<std::string>& id, const StatsReply& stats);
std::string encode_health(const std::optional<std::string>& id, const HealthReply& health);
// Replies to `tokenize`, `detokenize`, `model_info` (codec_info.cpp).
std::string encode_tokenize_reply(std::string_view id, const std::vector<int32_t>& ids);
std::string encode_detokenize_reply(std::string_view id, std::string_view text);
std::string encode_model_info_reply(std::string_view id, const ModelInfo& info);

// ---- client side: client frames out, backend frames in -------------------

std::string encode_generate(const JobRequest& request);
std::string encode_cancel(std::string_view id);
std::string encode_stats_request(const std::optional<std::string>& id);
std::string encode_health_request(const std::optional<std::string>& id);
std::string encode_tokenize_request(std::string_view id, std::string_view text, bool add_special, bool parse_special);
std::string encode_detokenize_request(std::string_view id, const std::vector<int32_t>& ids);
std::string encode_model_info_request(std::string_view id);
// "tokenize", "detokenize", "model_info": requests (and replies) of the model's text functions.
bool is_info_type(std::string_view type);

// A backend frame the client could not make sense of.
class ProtocolViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServerMessage {
  enum class Type { kDelta, kDone, kError, kStats, kHealth, kTokenize, kDetokenize, kModelInfo } type = Type::kDelta;
  std::optional<std::string> id;
  JobEvent event;             // kDelta / kDone / kError (event.id = id or "")
  std::string error_field;    // kError: the offending field, if named
  StatsReply stats;           // kStats
  HealthReply health;         // kHealth
  ModelInfo model;            // kModelInfo (kTokenize: event.token_ids; kDetokenize: event.text)
};

// Throws ProtocolViolation on anything that is not a v1 backend message.
ServerMessage decode_server_frame(std::string_view frame);

// Wire names (PROTOCOL.md); parse_* return nullopt for unknown names.
const char* wire_name(FinishReason reason);
const char* wire_name(ErrorCode code);
std::optional<FinishReason> parse_finish_reason(std::string_view name);
std::optional<ErrorCode> parse_error_code(std::string_view name);

}  // namespace loom::zmq_proto
