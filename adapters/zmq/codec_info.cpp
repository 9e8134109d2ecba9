// The model's text functions over the wire (PROTOCOL.md, `tokenize`,
// `detokenize`, `model_info`): requests and replies, both sides. They let a
// door in another process (the HTTP gateway) tokenize and describe the model.
#include <limits>
#include <msgpack.hpp>

#include "adapters/zmq/codec.h"
#include "adapters/zmq/msgpack_read.h"

namespace loom::zmq_proto {

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_head(Packer& pk, uint32_t extra_keys, const char* type, std::string_view id) {
  pk.pack_map(3 + extra_keys);
  pack_str(pk, "v");
  pk.pack_int(kProtocolVersion);
  pack_str(pk, "type");
  pack_str(pk, type);
  pack_str(pk, "id");
  pack_str(pk, id);
}

void pack_ids(Packer& pk, const std::vector<int32_t>& ids) {
  pk.pack_array(static_cast<uint32_t>(ids.size()));
  for (int32_t t : ids) pk.pack_int32(t);
}

std::string take(const msgpack::sbuffer& buf) { return std::string(buf.data(), buf.size()); }

std::vector<int32_t> read_ids(const msgpack::object& o, const std::string& field, size_t max) {
  const auto& arr = detail::read_array(o, field);
  if (arr.size > max)
    detail::fail(field, "more than " + std::to_string(max) + " token ids (" + std::to_string(arr.size) + ")",
                 ErrorCode::kTooLong);
  std::vector<int32_t> ids;
  ids.reserve(arr.size);
  for (uint32_t i = 0; i < arr.size; ++i)
    ids.push_back(static_cast<int32_t>(detail::read_int(arr.ptr[i], field + "[" + std::to_string(i) + "]", 0,
                                                        std::numeric_limits<int32_t>::max())));
  return ids;
}

}  // namespace

bool is_info_type(std::string_view type) {
  return type == "tokenize" || type == "detokenize" || type == "model_info";
}

namespace detail {

// Sizes are bounded by the frame limit; the engine checks ids against its vocabulary.
ClientMessage read_info_request(const std::string& type, MapView& m, const std::string& id) {
  if (type == "tokenize") {
    TokenizeRequest r{id};
    r.text = read_string(m.require("text"), "text");
    if (const auto* o = m.get("add_special")) r.add_special = read_bool(*o, "add_special");
    if (const auto* o = m.get("parse_special")) r.parse_special = read_bool(*o, "parse_special");
    return r;
  }
  if (type == "detokenize") return DetokenizeRequest{id, read_ids(m.require("token_ids"), "token_ids", std::numeric_limits<uint32_t>::max())};
  return ModelInfoRequest{id};
}

void read_info_reply(const std::string& type, MapView& m, ServerMessage& msg) {
  if (type == "tokenize") {
    msg.type = ServerMessage::Type::kTokenize;
    msg.event.token_ids = read_ids(m.require("token_ids"), "token_ids", std::numeric_limits<uint32_t>::max());
  } else if (type == "detokenize") {
    msg.type = ServerMessage::Type::kDetokenize;
    msg.event.text = read_string(m.require("text"), "text");
  } else {
    msg.type = ServerMessage::Type::kModelInfo;
    msg.model.name = read_string(m.require("name"), "name");
    msg.model.max_context = read_int(m.require("max_context"), "max_context", 0, std::numeric_limits<int64_t>::max());
    msg.model.n_vocab = static_cast<int32_t>(
        read_int(m.require("n_vocab"), "n_vocab", 0, std::numeric_limits<int32_t>::max()));
    if (const auto* e = m.get("eos_ids")) msg.model.eos_ids = read_ids(*e, "eos_ids", 1024);
  }
}

}  // namespace detail

std::string encode_tokenize_request(std::string_view id, std::string_view text, bool add_special, bool parse_special) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 3, "tokenize", id);
  pack_str(pk, "text");
  pack_str(pk, text);
  pack_str(pk, "add_special");
  pk.pack(add_special);
  pack_str(pk, "parse_special");
  pk.pack(parse_special);
  return take(buf);
}

std::string encode_detokenize_request(std::string_view id, const std::vector<int32_t>& ids) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 1, "detokenize", id);
  pack_str(pk, "token_ids");
  pack_ids(pk, ids);
  return take(buf);
}

std::string encode_model_info_request(std::string_view id) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 0, "model_info", id);
  return take(buf);
}

std::string encode_tokenize_reply(std::string_view id, const std::vector<int32_t>& ids) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 1, "tokenize", id);
  pack_str(pk, "token_ids");
  pack_ids(pk, ids);
  return take(buf);
}

std::string encode_detokenize_reply(std::string_view id, std::string_view text) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 1, "detokenize", id);
  pack_str(pk, "text");
  pack_str(pk, text);
  return take(buf);
}

std::string encode_model_info_reply(std::string_view id, const ModelInfo& info) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 4, "model_info", id);
  pack_str(pk, "name");
  pack_str(pk, info.name);
  pack_str(pk, "max_context");
  pk.pack_int64(info.max_context);
  pack_str(pk, "n_vocab");
  pk.pack_int32(info.n_vocab);
  pack_str(pk, "eos_ids");
  pack_ids(pk, info.eos_ids);
  return take(buf);
}

}  // namespace loom::zmq_proto
