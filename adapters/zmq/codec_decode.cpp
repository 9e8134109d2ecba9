// Client frame -> Decoded: structure and types. Ranges live in validate.cpp.
#include <limits>

#include "adapters/zmq/codec.h"
#include "adapters/zmq/msgpack_read.h"

namespace loom::zmq_proto {

using namespace detail;

namespace {

constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();

std::vector<int32_t> read_token_ids(const msgpack::object& o, const std::string& field) {
  const auto& arr = read_array(o, field);
  std::vector<int32_t> ids(arr.size);
  for (uint32_t i = 0; i < arr.size; ++i) {
    ids[i] = static_cast<int32_t>(
        read_int(arr.ptr[i], field + "[" + std::to_string(i) + "]", 0, kI32Max));
  }
  return ids;
}

std::vector<ChatTurn> read_messages(const msgpack::object& o, std::vector<std::string>& ignored) {
  const auto& arr = read_array(o, "messages");
  std::vector<ChatTurn> turns(arr.size);
  for (uint32_t i = 0; i < arr.size; ++i) {
    MapView m(arr.ptr[i], "messages[" + std::to_string(i) + "]");
    turns[i].role = read_string(m.require("role"), m.path_of("role"));
    turns[i].content = read_string(m.require("content"), m.path_of("content"));
    m.collect_unused(ignored);
  }
  return turns;
}

std::vector<std::string> read_strings(const msgpack::object& o, const std::string& field) {
  const auto& arr = read_array(o, field);
  std::vector<std::string> out(arr.size);
  for (uint32_t i = 0; i < arr.size; ++i) {
    out[i] = read_string(arr.ptr[i], field + "[" + std::to_string(i) + "]");
  }
  return out;
}

float read_float(MapView& m, std::string_view key, float fallback) {
  const msgpack::object* o = m.get(key);
  return o ? static_cast<float>(read_number(*o, m.path_of(key))) : fallback;
}

int32_t read_i32(MapView& m, std::string_view key, int32_t fallback) {
  const msgpack::object* o = m.get(key);
  return o ? static_cast<int32_t>(read_int(*o, m.path_of(key), kI32Min, kI32Max)) : fallback;
}

void read_params(const msgpack::object& o, JobParams& p, std::vector<std::string>& ignored) {
  MapView m(o, "params");
  sampling::SamplingParams& s = p.sampling;
  p.max_tokens = read_i32(m, "max_tokens", p.max_tokens);
  s.temperature = read_float(m, "temperature", s.temperature);
  s.top_p = read_float(m, "top_p", s.top_p);
  s.top_k = read_i32(m, "top_k", s.top_k);
  s.min_p = read_float(m, "min_p", s.min_p);
  if (const auto* seed = m.get("seed")) {
    s.seed = read_uint64(*seed, "params.seed");
    s.has_seed = true;
  }
  if (const auto* stop = m.get("stop")) {
    // A lone string is accepted as a one-element list (OpenAI does the same).
    p.stop = stop->type == msgpack::type::STR ? std::vector<std::string>{read_string(*stop, "")}
                                              : read_strings(*stop, "params.stop");
  }
  if (const auto* ids = m.get("stop_token_ids")) {
    p.stop_token_ids = read_token_ids(*ids, "params.stop_token_ids");
  }
  if (const auto* b = m.get("ignore_eos")) p.ignore_eos = read_bool(*b, "params.ignore_eos");
  s.repetition_penalty = read_float(m, "repetition_penalty", s.repetition_penalty);
  s.presence_penalty = read_float(m, "presence_penalty", s.presence_penalty);
  s.frequency_penalty = read_float(m, "frequency_penalty", s.frequency_penalty);
  s.penalty_last_n = read_i32(m, "penalty_last_n", s.penalty_last_n);
  p.logprobs = read_i32(m, "logprobs", p.logprobs);
  s.top_logprobs = p.logprobs;
  m.collect_unused(ignored);
}

JobRequest read_generate(MapView& m, std::vector<std::string>& ignored) {
  JobRequest r;
  const msgpack::object* prompt = m.get("prompt");
  const msgpack::object* ids = m.get("input_ids");
  const msgpack::object* messages = m.get("messages");
  const int forms = (prompt != nullptr) + (ids != nullptr) + (messages != nullptr);
  if (forms != 1) {
    std::string present;
    for (auto [name, obj] : {std::pair{"prompt", prompt}, {"input_ids", ids}, {"messages", messages}}) {
      if (obj) present += (present.empty() ? "" : " and ") + std::string(name);
    }
    fail("prompt", "exactly one of prompt, input_ids, messages is required, got " +
                       (present.empty() ? std::string("none") : present));
  }
  if (prompt) r.prompt.value = read_string(*prompt, "prompt");
  if (ids) r.prompt.value = read_token_ids(*ids, "input_ids");
  if (messages) r.prompt.value = read_messages(*messages, ignored);
  if (const auto* params = m.get("params")) read_params(*params, r.params, ignored);
  if (const auto* stream = m.get("stream")) r.stream = read_bool(*stream, "stream");
  r.priority = read_i32(m, "priority", 0);
  if (const auto* deadline = m.get("deadline_ms")) {
    r.deadline = std::chrono::milliseconds(
        read_int(*deadline, "deadline_ms", std::numeric_limits<int64_t>::min(),
                 std::numeric_limits<int64_t>::max()));
  }
  return r;
}

// `id`: required for generate and cancel, optional for stats and health.
std::optional<std::string> read_id(MapView& m, const Limits& limits) {
  const msgpack::object* o = m.get("id");
  if (o == nullptr) return std::nullopt;
  std::string id = read_string(*o, "id");
  if (id.size() > limits.max_id_bytes) {
    fail("id", "longer than " + std::to_string(limits.max_id_bytes) + " bytes (" +
                   std::to_string(id.size()) + ")");
  }
  return id;
}

void read_version(MapView& m) {
  const msgpack::object* v = m.get("v");
  if (v == nullptr) fail("v", "missing (this backend speaks protocol version 1)");
  const int64_t version = read_int(*v, "v", std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max());
  if (version != kProtocolVersion) {
    fail("v", "unsupported protocol version " + std::to_string(version) +
                  " (this backend speaks 1)");
  }
}

void decode_into(std::string_view frame, const Limits& limits, Decoded& d) {
  if (frame.size() > limits.max_frame_bytes) {
    fail("", "frame of " + std::to_string(frame.size()) + " bytes exceeds the limit of " +
                 std::to_string(limits.max_frame_bytes), ErrorCode::kTooLong);
  }
  msgpack::object_handle handle = safe_unpack(frame);
  if (handle.get().type != msgpack::type::MAP) {
    fail("", std::string("expected a map at the top level, got ") + type_name(handle.get()));
  }
  MapView m(handle.get(), "");
  d.id = read_id(m, limits);
  read_version(m);
  const msgpack::object* type_obj = m.get("type");
  if (type_obj == nullptr) fail("type", "missing");
  const std::string type = read_string(*type_obj, "type");
  const bool needs_id = type == "generate" || type == "cancel";
  if (needs_id && !d.id) fail("id", "missing (" + type + " needs a client-chosen id)");
  if (needs_id && d.id->empty()) fail("id", "must not be empty");
  if (type == "generate") {
    JobRequest r = read_generate(m, d.ignored_fields);
    r.id = *d.id;
    d.message = std::move(r);
  } else if (type == "cancel") {
    d.message = CancelRequest{*d.id};
  } else if (type == "stats") {
    d.message = StatsRequest{d.id};
  } else if (type == "health") {
    d.message = HealthRequest{d.id};
  } else {
    fail("type", "unknown type \"" + type + "\" (expected generate, cancel, stats or health)");
  }
  m.collect_unused(d.ignored_fields);
}

}  // namespace

Decoded decode_client_frame(std::string_view frame, const Limits& limits) {
  Decoded d;
  try {
    decode_into(frame, limits, d);
  } catch (DecodeFailure& f) {
    d.error = std::move(f.error);
  } catch (const std::bad_alloc&) {
    d.error = ProtocolError{ErrorCode::kTooLong, "", "frame too large to decode"};
  }
  return d;
}

}  // namespace loom::zmq_proto
