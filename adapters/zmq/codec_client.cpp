// The client's half of the codec: requests out, backend messages in.
#include <limits>

#include <msgpack.hpp>

#include "adapters/zmq/codec.h"
#include "adapters/zmq/msgpack_read.h"

namespace loom::zmq_proto {

using namespace detail;

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_request_head(Packer& pk, uint32_t keys, const char* type, const std::optional<std::string>& id) {
  pk.pack_map(keys + (id ? 3 : 2));
  pack_str(pk, "v");
  pk.pack_int(kProtocolVersion);
  pack_str(pk, "type");
  pack_str(pk, type);
  if (id) {
    pack_str(pk, "id");
    pack_str(pk, *id);
  }
}

void pack_prompt(Packer& pk, const PromptInput& prompt) {
  if (const auto* text = std::get_if<std::string>(&prompt.value)) {
    pack_str(pk, "prompt");
    pack_str(pk, *text);
  } else if (const auto* ids = std::get_if<std::vector<int32_t>>(&prompt.value)) {
    pack_str(pk, "input_ids");
    pk.pack(*ids);
  } else {
    const auto& turns = std::get<std::vector<ChatTurn>>(prompt.value);
    pack_str(pk, "messages");
    pk.pack_array(static_cast<uint32_t>(turns.size()));
    for (const auto& t : turns) {
      pk.pack_map(2);
      pack_str(pk, "role");
      pack_str(pk, t.role);
      pack_str(pk, "content");
      pack_str(pk, t.content);
    }
  }
}

void pack_params(Packer& pk, const JobParams& p) {
  const sampling::SamplingParams& s = p.sampling;
  pk.pack_map(11 + s.has_seed + !p.stop.empty() + !p.stop_token_ids.empty());
  pack_str(pk, "max_tokens"); pk.pack_int32(p.max_tokens);
  pack_str(pk, "temperature"); pk.pack_float(s.temperature);
  pack_str(pk, "top_p"); pk.pack_float(s.top_p);
  pack_str(pk, "top_k"); pk.pack_int32(s.top_k);
  pack_str(pk, "min_p"); pk.pack_float(s.min_p);
  pack_str(pk, "repetition_penalty"); pk.pack_float(s.repetition_penalty);
  pack_str(pk, "presence_penalty"); pk.pack_float(s.presence_penalty);
  pack_str(pk, "frequency_penalty"); pk.pack_float(s.frequency_penalty);
  pack_str(pk, "penalty_last_n"); pk.pack_int32(s.penalty_last_n);
  pack_str(pk, "ignore_eos"); pk.pack(p.ignore_eos);
  pack_str(pk, "logprobs"); pk.pack_int32(p.logprobs);
  if (s.has_seed) { pack_str(pk, "seed"); pk.pack_uint64(s.seed); }
  if (!p.stop.empty()) { pack_str(pk, "stop"); pk.pack(p.stop); }
  if (!p.stop_token_ids.empty()) { pack_str(pk, "stop_token_ids"); pk.pack(p.stop_token_ids); }
}

std::string take(msgpack::sbuffer& buf) { return std::string(buf.data(), buf.size()); }

int64_t get_int(MapView& m, std::string_view key) {
  const msgpack::object* o = m.get(key);
  return o ? read_int(*o, m.path_of(key), std::numeric_limits<int64_t>::min(),
                      std::numeric_limits<int64_t>::max())
           : 0;
}
double get_number(MapView& m, std::string_view key) {
  const msgpack::object* o = m.get(key);
  return o ? read_number(*o, m.path_of(key)) : 0.0;
}

std::vector<int32_t> get_ids(MapView& m) {
  std::vector<int32_t> ids;
  if (const auto* o = m.get("token_ids")) {
    const auto& arr = read_array(*o, "token_ids");
    for (uint32_t i = 0; i < arr.size; ++i) {
      ids.push_back(static_cast<int32_t>(read_int(arr.ptr[i], "token_ids", 0, INT32_MAX)));
    }
  }
  return ids;
}

std::vector<TokenLogprobs> get_logprobs(MapView& m) {
  std::vector<TokenLogprobs> out;
  const auto* o = m.get("logprobs");
  if (o == nullptr) return out;
  const auto& arr = read_array(*o, "logprobs");
  for (uint32_t i = 0; i < arr.size; ++i) {
    MapView e(arr.ptr[i], "logprobs");
    TokenLogprobs lp;
    lp.token = static_cast<int32_t>(get_int(e, "token"));
    lp.logprob = static_cast<float>(get_number(e, "logprob"));
    if (const auto* top = e.get("top")) {
      const auto& pairs = read_array(*top, "top");
      for (uint32_t k = 0; k < pairs.size; ++k) {
        const auto& pair = read_array(pairs.ptr[k], "top");
        if (pair.size != 2) fail("logprobs.top", "expected [token, logprob] pairs");
        lp.top.emplace_back(static_cast<int32_t>(read_int(pair.ptr[0], "top", 0, INT32_MAX)),
                            static_cast<float>(read_number(pair.ptr[1], "top")));
      }
    }
    out.push_back(std::move(lp));
  }
  return out;
}

void read_done(MapView& m, JobEvent& e) {
  const std::string reason = read_string(m.require("finish_reason"), "finish_reason");
  auto parsed = parse_finish_reason(reason);
  if (!parsed) fail("finish_reason", "unknown \"" + reason + "\"");
  e.finish_reason = *parsed;
  if (const auto* u = m.get("usage")) {
    MapView usage(*u, "usage");
    e.usage.prompt_tokens = static_cast<int32_t>(get_int(usage, "prompt_tokens"));
    e.usage.completion_tokens = static_cast<int32_t>(get_int(usage, "completion_tokens"));
    e.usage.cached_tokens = static_cast<int32_t>(get_int(usage, "cached_tokens"));
  }
  if (const auto* t = m.get("timing")) {
    MapView timing(*t, "timing");
    e.timing.queue_ms = get_number(timing, "queue_ms");
    e.timing.ttft_ms = get_number(timing, "ttft_ms");
    e.timing.total_ms = get_number(timing, "total_ms");
  }
}

void read_stats(MapView& m, StatsReply& s) {
  s.engine.waiting = static_cast<int32_t>(get_int(m, "waiting"));
  s.engine.running = static_cast<int32_t>(get_int(m, "running"));
  s.engine.preempted = static_cast<int32_t>(get_int(m, "preempted"));
  s.engine.kv_blocks_used = get_int(m, "kv_blocks_used");
  s.engine.kv_blocks_total = get_int(m, "kv_blocks_total");
  s.engine.prefix_hit_rate = get_number(m, "prefix_hit_rate");
  s.engine.preemptions = get_int(m, "preemptions");
  s.engine.tokens_per_second = get_number(m, "tokens_per_second");
  s.engine.jobs_finished = get_int(m, "jobs_finished");
  s.engine.uptime_s = get_number(m, "uptime_s");
  s.clients = get_int(m, "clients");
  s.jobs_in_flight = get_int(m, "jobs_in_flight");
  s.auth_denied = get_int(m, "auth_denied");
}

void read_health(MapView& m, HealthReply& h) {
  if (const auto* ok = m.get("ok")) h.engine.ok = read_bool(*ok, "ok");
  h.engine.last_step_age_ms = get_number(m, "last_step_age_ms");
  if (const auto* d = m.get("detail")) h.engine.detail = read_string(*d, "detail");
  if (const auto* d = m.get("draining")) h.draining = read_bool(*d, "draining");
  h.uptime_s = get_number(m, "uptime_s");
}

ServerMessage decode_server(std::string_view frame) {
  msgpack::object_handle handle = safe_unpack(frame);
  MapView m(handle.get(), "");
  ServerMessage msg;
  if (get_int(m, "v") != kProtocolVersion) fail("v", "expected protocol version 1");
  if (const auto* id = m.get("id")) msg.id = read_string(*id, "id");
  msg.event.id = msg.id.value_or("");
  const std::string type = read_string(m.require("type"), "type");
  if (type == "delta" || type == "done") {
    msg.type = type == "delta" ? ServerMessage::Type::kDelta : ServerMessage::Type::kDone;
    msg.event.kind = type == "delta" ? JobEvent::Kind::kDelta : JobEvent::Kind::kDone;
    if (const auto* t = m.get("text")) msg.event.text = read_string(*t, "text");
    msg.event.token_ids = get_ids(m);
    msg.event.logprobs = get_logprobs(m);
    if (type == "done") read_done(m, msg.event);
  } else if (type == "error") {
    msg.type = ServerMessage::Type::kError;
    msg.event.kind = JobEvent::Kind::kError;
    const std::string code = read_string(m.require("code"), "code");
    msg.event.error_code = parse_error_code(code).value_or(ErrorCode::kInternal);
    if (const auto* t = m.get("message")) msg.event.message = read_string(*t, "message");
    if (const auto* f = m.get("field")) msg.error_field = read_string(*f, "field");
  } else if (type == "stats") {
    msg.type = ServerMessage::Type::kStats;
    read_stats(m, msg.stats);
  } else if (type == "health") {
    msg.type = ServerMessage::Type::kHealth;
    read_health(m, msg.health);
  } else if (is_info_type(type)) {
    read_info_reply(type, m, msg);
  } else {
    fail("type", "unknown backend message type \"" + type + "\"");
  }
  return msg;
}

}  // namespace

std::string encode_generate(const JobRequest& r) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_request_head(pk, 4 + r.deadline.has_value(), "generate", r.id);
  pack_prompt(pk, r.prompt);
  pack_str(pk, "params");
  pack_params(pk, r.params);
  pack_str(pk, "stream"); pk.pack(r.stream);
  pack_str(pk, "priority"); pk.pack_int32(r.priority);
  if (r.deadline) { pack_str(pk, "deadline_ms"); pk.pack_int64(r.deadline->count()); }
  return take(buf);
}

std::string encode_cancel(std::string_view id) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_request_head(pk, 0, "cancel", std::string(id));
  return take(buf);
}

std::string encode_stats_request(const std::optional<std::string>& id) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_request_head(pk, 0, "stats", id);
  return take(buf);
}

std::string encode_health_request(const std::optional<std::string>& id) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_request_head(pk, 0, "health", id);
  return take(buf);
}

ServerMessage decode_server_frame(std::string_view frame) {
  try {
    return decode_server(frame);
  } catch (const DecodeFailure& f) {
    throw ProtocolViolation("bad backend message: " + f.error.message);
  }
}

}  // namespace loom::zmq_proto
