// Frontend -> engine: the handshake answer, ADD, ABORT, UTILITY.
#include <algorithm>
#include <cmath>

#include "adapters/vllm/codec.h"

namespace loom::vllm_door {
namespace {

using vllm_wire::RequestType;
namespace req = vllm_wire::req;

template <size_t N>
bool known(const std::array<std::string_view, N>& keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

std::string key_of(const msgpack::object_kv& kv, std::string_view where) {
  return read_string(kv.key, std::string(where) + " key");
}

int32_t read_token(const msgpack::object& o, std::string_view field) {
  const int64_t v = read_int(o, field);
  if (v < 0 || v > INT32_MAX) mismatch(std::string(field) + ": token id " + std::to_string(v) + " out of range");
  return static_cast<int32_t>(v);
}

std::vector<int32_t> read_token_ids(const msgpack::object& o, std::string_view field) {
  const auto& a = read_array(o, field);
  std::vector<int32_t> ids;
  ids.reserve(a.size);
  for (uint32_t i = 0; i < a.size; ++i) ids.push_back(read_token(a.ptr[i], field));
  return ids;
}

bool empty_or_nil(const msgpack::object& o) {
  if (is_nil(o)) return true;
  if (o.type == msgpack::type::ARRAY) return o.via.array.size == 0;
  if (o.type == msgpack::type::MAP) return o.via.map.size == 0;
  return false;
}

void note(AddRequest& r, std::string what) {
  if (r.unsupported.empty()) r.unsupported = std::move(what);
}

// SamplingParams (vllm/sampling_params.py): a map without its default keys.
void decode_sampling(const msgpack::object& o, AddRequest& r) {
  const auto& m = read_map(o, "sampling_params");
  for (uint32_t i = 0; i < m.size; ++i) {
    const std::string k = key_of(m.ptr[i], "sampling_params");
    const msgpack::object& v = m.ptr[i].val;
    const std::string field = "sampling_params." + k;
    if (!known(vllm_wire::kSamplingKeys, k)) mismatch("unknown sampling parameter " + field);
    if (k == "n") r.n = static_cast<int32_t>(read_int(v, field));
    else if (k == "temperature") r.temperature = static_cast<float>(read_number(v, field));
    else if (k == "top_p") r.top_p = static_cast<float>(read_number(v, field));
    else if (k == "top_k") r.top_k = static_cast<int32_t>(read_int(v, field));
    else if (k == "min_p") r.min_p = static_cast<float>(read_number(v, field));
    else if (k == "presence_penalty") r.presence_penalty = static_cast<float>(read_number(v, field));
    else if (k == "frequency_penalty") r.frequency_penalty = static_cast<float>(read_number(v, field));
    else if (k == "repetition_penalty") r.repetition_penalty = static_cast<float>(read_number(v, field));
    else if (k == "seed") r.seed = is_nil(v) ? std::nullopt : std::optional<int64_t>(read_int(v, field));
    else if (k == "max_tokens") r.max_tokens = is_nil(v) ? std::nullopt : std::optional<int64_t>(read_int(v, field));
    else if (k == "min_tokens") r.min_tokens = read_int(v, field);
    else if (k == "stop_token_ids") r.stop_token_ids = is_nil(v) ? std::vector<int32_t>{} : read_token_ids(v, field);
    else if (k == "_eos_token_id") {
      if (!is_nil(v)) r.eos_token_id = read_token(v, field);
    } else if (k == "ignore_eos") r.ignore_eos = read_bool(v, field);
    else if (k == "logprobs") r.logprobs = is_nil(v) ? std::nullopt : std::optional<int64_t>(read_int(v, field));
    else if (k == "prompt_logprobs" || k == "prompt_logprob_token_ids" || k == "logprob_token_ids" ||
             k == "thinking_token_budget" || k == "repetition_detection" || k == "structured_outputs") {
      if (!is_nil(v)) note(r, k);
    } else if (k == "logit_bias" || k == "allowed_token_ids" || k == "bad_words" || k == "_bad_words_token_ids") {
      if (!empty_or_nil(v)) note(r, k);
    } else if (k == "watermarking") {
      if (!is_nil(v) && read_bool(v, field)) note(r, k);
    }
    // The rest (stop strings, detokenize, output_kind, skip_special_tokens,
    // include_stop_str_in_output, extra_args, ...) are the frontend's own.
  }
}

void decode_add(const msgpack::object& o, AddRequest& r) {
  const auto& a = read_array(o, "EngineCoreRequest");
  if (a.size >= 1 && a.ptr[0].type == msgpack::type::STR) r.request_id = read_string(a.ptr[0], "request_id");
  if (a.size < req::kMinFields || a.size > req::kMaxFields)
    mismatch("EngineCoreRequest has " + std::to_string(a.size) + " fields, 0.33.0 sends " +
             std::to_string(req::kMinFields) + " to " + std::to_string(req::kMaxFields));
  const auto at = [&](int i) -> const msgpack::object* { return i < static_cast<int>(a.size) ? &a.ptr[i] : nullptr; };
  r.request_id = read_string(a.ptr[req::kRequestId], "request_id");
  if (r.request_id.empty()) mismatch("request_id is empty");
  if (is_nil(a.ptr[req::kPromptTokenIds])) note(r, "a prompt without token ids (prompt_embeds)");
  else r.prompt = read_token_ids(a.ptr[req::kPromptTokenIds], "prompt_token_ids");
  if (!is_nil(a.ptr[req::kMmFeatures])) note(r, "multimodal inputs (mm_features)");
  if (!is_nil(a.ptr[req::kPoolingParams])) note(r, "pooling (pooling_params)");
  if (is_nil(a.ptr[req::kSamplingParams])) note(r, "a request without sampling_params");
  else decode_sampling(a.ptr[req::kSamplingParams], r);
  read_number(a.ptr[req::kArrivalTime], "arrival_time");
  if (!is_nil(a.ptr[req::kLoraRequest])) note(r, "LoRA adapters (lora_request)");
  if (auto* e = at(req::kPromptEmbeds); e && !is_nil(*e)) note(r, "prompt_embeds");
  if (auto* e = at(req::kPromptIsTokenIds); e && !is_nil(*e)) note(r, "mixed prompt_embeds (prompt_is_token_ids)");
  if (auto* e = at(req::kClientIndex)) r.client_index = read_int(*e, "client_index");
  if (auto* e = at(req::kCurrentWave)) read_int(*e, "current_wave");
  if (auto* e = at(req::kPriority)) r.priority = read_int(*e, "priority");
  if (auto* e = at(req::kResumable); e && read_bool(*e, "resumable")) note(r, "resumable streaming sessions");
  if (auto* e = at(req::kAbortImmediately); e && read_bool(*e, "abort_immediately"))
    note(r, "KV-transfer cleanup requests (abort_immediately)");
}

UtilityCall decode_utility(const msgpack::object& o) {
  const auto& a = read_array(o, "utility call");
  if (a.size != vllm_wire::kUtilityFields)
    mismatch("utility call has " + std::to_string(a.size) + " fields, 0.33.0 sends 4");
  UtilityCall u;
  u.client_index = read_int(a.ptr[0], "utility client_index");
  const auto& id = a.ptr[1];
  if (id.type == msgpack::type::POSITIVE_INTEGER) u.call_id = {false, id.via.u64};
  else if (id.type == msgpack::type::NEGATIVE_INTEGER) u.call_id = {true, static_cast<uint64_t>(id.via.i64)};
  else mismatch(std::string("utility call_id: expected integer, got ") + type_name(id));
  u.method = read_string(a.ptr[2], "utility method");
  u.num_args = is_nil(a.ptr[3]) ? 0 : read_array(a.ptr[3], "utility args").size;
  return u;
}

}  // namespace

HandshakeInit decode_handshake_init(std::string_view payload) {
  const auto h = safe_unpack(payload);
  const auto& m = read_map(h.get(), "handshake");
  for (uint32_t i = 0; i < m.size; ++i)
    if (!known(vllm_wire::kHandshakeKeys, key_of(m.ptr[i], "handshake")))
      mismatch("unknown handshake key " + key_of(m.ptr[i], "handshake"));
  const auto* addresses = find_key(m, "addresses");
  const auto* parallel = find_key(m, "parallel_config");
  if (!addresses || !parallel) mismatch("handshake lacks addresses or parallel_config");
  const auto& am = read_map(*addresses, "addresses");
  for (uint32_t i = 0; i < am.size; ++i)
    if (!known(vllm_wire::kAddressKeys, key_of(am.ptr[i], "addresses")))
      mismatch("unknown address key " + key_of(am.ptr[i], "addresses"));
  for (const char* k : {"coordinator_input", "coordinator_output"})
    if (const auto* v = find_key(am, k); v && !is_nil(*v))
      mismatch(std::string("a DP coordinator (") + k + "): run vllm serve with --data-parallel-size 1");
  const auto first = [&](const char* k) {
    const auto* v = find_key(am, k);
    if (!v) mismatch(std::string("addresses lack ") + k);
    const auto& list = read_array(*v, k);
    if (list.size == 0) mismatch(std::string("addresses.") + k + " is empty");
    return read_string(list.ptr[0], k);
  };
  HandshakeInit init;
  init.input_address = first("inputs");
  init.output_address = first("outputs");
  read_map(*parallel, "parallel_config");
  return init;
}

InputMessage decode_input(const std::vector<std::string_view>& frames) {
  if (frames.size() < 2) malformed("a message of " + std::to_string(frames.size()) + " frame(s), expected [type, payload]");
  if (frames[0].size() != 1) malformed("a request type frame of " + std::to_string(frames[0].size()) + " bytes");
  const auto type = static_cast<RequestType>(static_cast<uint8_t>(frames[0][0]));
  const auto h = safe_unpack(frames[1]);
  InputMessage msg;
  switch (type) {
    case RequestType::kAdd:
      msg.kind = InputMessage::Kind::kAdd;
      try {
        decode_add(h.get(), msg.add);
        if (frames.size() > 2) note(msg.add, "out-of-band tensors (prompt_embeds)");
      } catch (WireError& e) {
        if (!msg.add.request_id.empty()) e.request_id = msg.add.request_id;
        throw;
      }
      return msg;
    case RequestType::kAbort: {
      msg.kind = InputMessage::Kind::kAbort;
      const auto& a = read_array(h.get(), "abort ids");
      for (uint32_t i = 0; i < a.size; ++i) msg.abort_ids.push_back(read_string(a.ptr[i], "abort id"));
      return msg;
    }
    case RequestType::kUtility:
      msg.kind = InputMessage::Kind::kUtility;
      msg.utility = decode_utility(h.get());
      return msg;
    default:
      malformed("request type " + std::to_string(static_cast<int>(type)) + " is not ADD, ABORT or UTILITY");
  }
}

}  // namespace loom::vllm_door
