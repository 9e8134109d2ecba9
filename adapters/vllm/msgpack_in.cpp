#include "adapters/vllm/msgpack_in.h"

#include <limits>

#include "adapters/msgpack/frame_check.h"

namespace loom::vllm_door {
namespace {

constexpr uint32_t kMaxDepth = 12;  // SamplingParams inside EngineCoreRequest needs 4

std::string expected(std::string_view what, std::string_view field, const msgpack::object& o) {
  return std::string(field) + ": expected " + std::string(what) + ", got " + type_name(o);
}

}  // namespace

void malformed(std::string message) { throw WireError{WireError::Kind::kMalformed, std::move(message), {}}; }
void mismatch(std::string message) { throw WireError{WireError::Kind::kMismatch, std::move(message), {}}; }

msgpack::object_handle safe_unpack(std::string_view bytes) {
  if (bytes.empty()) malformed("empty payload");
  if (auto why = msgpack_frame::check_frame(bytes, kMaxDepth)) malformed(*why);
  try {
    return msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    malformed(std::string("not msgpack: ") + e.what());
  }
}

const char* type_name(const msgpack::object& o) { return msgpack_frame::type_name(o); }

bool is_nil(const msgpack::object& o) { return o.type == msgpack::type::NIL; }

std::string read_string(const msgpack::object& o, std::string_view field) {
  if (o.type != msgpack::type::STR) mismatch(expected("string", field, o));
  return {o.via.str.ptr, o.via.str.size};
}

int64_t read_int(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      mismatch(std::string(field) + ": integer out of range");
    return static_cast<int64_t>(o.via.u64);
  }
  mismatch(expected("integer", field, o));
}

double read_number(const msgpack::object& o, std::string_view field) {
  if (o.type == msgpack::type::FLOAT32 || o.type == msgpack::type::FLOAT64) return o.via.f64;
  if (o.type == msgpack::type::POSITIVE_INTEGER || o.type == msgpack::type::NEGATIVE_INTEGER)
    return static_cast<double>(read_int(o, field));
  mismatch(expected("number", field, o));
}

bool read_bool(const msgpack::object& o, std::string_view field) {
  if (o.type != msgpack::type::BOOLEAN) mismatch(expected("bool", field, o));
  return o.via.boolean;
}

const msgpack::object_array& read_array(const msgpack::object& o, std::string_view field) {
  if (o.type != msgpack::type::ARRAY) mismatch(expected("array", field, o));
  return o.via.array;
}

const msgpack::object_map& read_map(const msgpack::object& o, std::string_view field) {
  if (o.type != msgpack::type::MAP) mismatch(expected("map", field, o));
  return o.via.map;
}

const msgpack::object* find_key(const msgpack::object_map& m, std::string_view key) {
  for (uint32_t i = 0; i < m.size; ++i) {
    const auto& k = m.ptr[i].key;
    if (k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == key)
      return &m.ptr[i].val;
  }
  return nullptr;
}

}  // namespace loom::vllm_door
