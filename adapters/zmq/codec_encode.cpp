// Backend -> client frames, and the wire names of enums.
#include <array>

#include <msgpack.hpp>

#include "adapters/zmq/codec.h"

namespace loom::zmq_proto {

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

constexpr std::array<const char*, 4> kFinishNames = {"stop", "length", "cancelled", "deadline"};
constexpr std::array<const char*, 5> kErrorNames = {"bad_request", "too_long", "overloaded",
                                                     "unavailable", "internal"};

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

// The common head of every backend message: v, type, id (3 of n keys).
void pack_head(Packer& pk, uint32_t keys, const char* type, const std::optional<std::string_view>& id) {
  pk.pack_map(keys);
  pack_str(pk, "v");
  pk.pack_int(kProtocolVersion);
  pack_str(pk, "type");
  pack_str(pk, type);
  pack_str(pk, "id");
  if (id) {
    pack_str(pk, *id);
  } else {
    pk.pack_nil();
  }
}

void pack_ids(Packer& pk, const std::vector<int32_t>& ids) {
  pk.pack_array(static_cast<uint32_t>(ids.size()));
  for (int32_t t : ids) pk.pack_int32(t);
}

// [{token, logprob, top: [[token, logprob], ...]}, ...]
void pack_logprobs(Packer& pk, const std::vector<TokenLogprobs>& lps) {
  pk.pack_array(static_cast<uint32_t>(lps.size()));
  for (const auto& lp : lps) {
    pk.pack_map(3);
    pack_str(pk, "token");
    pk.pack_int32(lp.token);
    pack_str(pk, "logprob");
    pk.pack_float(lp.logprob);
    pack_str(pk, "top");
    pk.pack_array(static_cast<uint32_t>(lp.top.size()));
    for (const auto& [token, logprob] : lp.top) {
      pk.pack_array(2);
      pk.pack_int32(token);
      pk.pack_float(logprob);
    }
  }
}

void pack_text_fields(Packer& pk, const JobEvent& e) {
  pack_str(pk, "text");
  pack_str(pk, e.text);
  pack_str(pk, "token_ids");
  pack_ids(pk, e.token_ids);
  if (!e.logprobs.empty()) {
    pack_str(pk, "logprobs");
    pack_logprobs(pk, e.logprobs);
  }
}

void pack_done(Packer& pk, const JobEvent& e, std::string_view id, bool with_text) {
  const uint32_t text_keys = with_text ? 2 + !e.logprobs.empty() : 0;
  pack_head(pk, 6 + text_keys, "done", id);
  pack_str(pk, "finish_reason");
  pack_str(pk, wire_name(e.finish_reason));
  pack_str(pk, "usage");
  pk.pack_map(3);
  pack_str(pk, "prompt_tokens");
  pk.pack_int32(e.usage.prompt_tokens);
  pack_str(pk, "completion_tokens");
  pk.pack_int32(e.usage.completion_tokens);
  pack_str(pk, "cached_tokens");
  pk.pack_int32(e.usage.cached_tokens);
  pack_str(pk, "timing");
  pk.pack_map(3);
  pack_str(pk, "queue_ms");
  pk.pack_double(e.timing.queue_ms);
  pack_str(pk, "ttft_ms");
  pk.pack_double(e.timing.ttft_ms);
  pack_str(pk, "total_ms");
  pk.pack_double(e.timing.total_ms);
  if (with_text) pack_text_fields(pk, e);
}

std::optional<std::string_view> view(const std::optional<std::string>& id) {
  return id ? std::optional<std::string_view>(*id) : std::nullopt;
}

std::string take(msgpack::sbuffer& buf) { return std::string(buf.data(), buf.size()); }

}  // namespace

const char* wire_name(FinishReason reason) { return kFinishNames.at(static_cast<size_t>(reason)); }
const char* wire_name(ErrorCode code) { return kErrorNames.at(static_cast<size_t>(code)); }

std::optional<FinishReason> parse_finish_reason(std::string_view name) {
  for (size_t i = 0; i < kFinishNames.size(); ++i) {
    if (name == kFinishNames[i]) return static_cast<FinishReason>(i);
  }
  return std::nullopt;
}

std::optional<ErrorCode> parse_error_code(std::string_view name) {
  for (size_t i = 0; i < kErrorNames.size(); ++i) {
    if (name == kErrorNames[i]) return static_cast<ErrorCode>(i);
  }
  return std::nullopt;
}

std::string wire_field(std::string_view field) {
  static constexpr std::string_view kParams[] = {
      "max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop", "stop_token_ids", "ignore_eos",
      "repetition_penalty", "presence_penalty", "frequency_penalty", "penalty_last_n", "logprobs"};
  if (field == "prompt_tokens") return "input_ids";
  if (field == "top_logprobs") return "params.logprobs";
  const std::string_view base = field.substr(0, field.find('['));
  for (std::string_view p : kParams)
    if (base == p) return "params." + std::string(field);
  return std::string(field);
}

ProtocolError wire_error(ErrorCode code, std::string_view field, std::string_view message) {
  ProtocolError e{code, wire_field(field), std::string(message)};
  if (!field.empty() && e.field != field && message.substr(0, field.size()) == field)
    e.message = e.field + std::string(message.substr(field.size()));
  return e;
}

std::string encode_event(const JobEvent& e, std::string_view client_id, bool with_text) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  switch (e.kind) {
    case JobEvent::Kind::kDelta:
      pack_head(pk, 5 + !e.logprobs.empty(), "delta", client_id);
      pack_text_fields(pk, e);
      break;
    case JobEvent::Kind::kDone:
      pack_done(pk, e, client_id, with_text);
      break;
    case JobEvent::Kind::kError:
      return encode_error(std::string(client_id), wire_error(e.error_code, e.field, e.message));
  }
  return take(buf);
}

std::string encode_error(const std::optional<std::string>& id, const ProtocolError& error) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 5 + !error.field.empty(), "error", view(id));
  pack_str(pk, "code");
  pack_str(pk, wire_name(error.code));
  pack_str(pk, "message");
  pack_str(pk, error.message);
  if (!error.field.empty()) {
    pack_str(pk, "field");
    pack_str(pk, error.field);
  }
  return take(buf);
}

std::string encode_stats(const std::optional<std::string>& id, const StatsReply& s) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 3 + 13, "stats", view(id));
  const EngineStats& e = s.engine;
  pack_str(pk, "waiting"); pk.pack_int32(e.waiting);
  pack_str(pk, "running"); pk.pack_int32(e.running);
  pack_str(pk, "preempted"); pk.pack_int32(e.preempted);
  pack_str(pk, "kv_blocks_used"); pk.pack_int64(e.kv_blocks_used);
  pack_str(pk, "kv_blocks_total"); pk.pack_int64(e.kv_blocks_total);
  pack_str(pk, "prefix_hit_rate"); pk.pack_double(e.prefix_hit_rate);
  pack_str(pk, "preemptions"); pk.pack_int64(e.preemptions);
  pack_str(pk, "tokens_per_second"); pk.pack_double(e.tokens_per_second);
  pack_str(pk, "jobs_finished"); pk.pack_int64(e.jobs_finished);
  pack_str(pk, "uptime_s"); pk.pack_double(e.uptime_s);
  pack_str(pk, "clients"); pk.pack_int64(s.clients);
  pack_str(pk, "jobs_in_flight"); pk.pack_int64(s.jobs_in_flight);
  pack_str(pk, "auth_denied"); pk.pack_int64(s.auth_denied);
  return take(buf);
}

std::string encode_health(const std::optional<std::string>& id, const HealthReply& h) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 3 + 5, "health", view(id));
  pack_str(pk, "ok"); pk.pack(h.engine.ok);
  pack_str(pk, "last_step_age_ms"); pk.pack_double(h.engine.last_step_age_ms);
  pack_str(pk, "detail"); pack_str(pk, h.engine.detail);
  pack_str(pk, "draining"); pk.pack(h.draining);
  pack_str(pk, "uptime_s"); pk.pack_double(h.uptime_s);
  return take(buf);
}

}  // namespace loom::zmq_proto
