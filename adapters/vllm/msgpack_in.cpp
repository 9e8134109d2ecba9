#include "adapters/vllm/msgpack_in.h"

#include <limits>

namespace loom::vllm_door {
namespace {

constexpr uint32_t kMaxDepth = 12;  // SamplingParams inside EngineCoreRequest needs 4

struct ScanVisitor : msgpack::null_visitor {
  uint32_t depth = 0;
  bool too_deep = false;
  bool enter() {
    if (++depth > kMaxDepth) too_deep = true;
    return !too_deep;
  }
  bool start_array(uint32_t) { return enter(); }
  bool end_array() { --depth; return true; }
  bool start_map(uint32_t) { return enter(); }
  bool end_map() { --depth; return true; }
  void parse_error(size_t, size_t) {}
  void insufficient_bytes(size_t, size_t) {}
};

std::string expected(std::string_view what, std::string_view field, const msgpack::object& o) {
  return std::string(field) + ": expected " + std::string(what) + ", got " + type_name(o);
}

}  // namespace

void malformed(std::string message) { throw WireError{WireError::Kind::kMalformed, std::move(message), {}}; }
void mismatch(std::string message) { throw WireError{WireError::Kind::kMismatch, std::move(message), {}}; }

msgpack::object_handle safe_unpack(std::string_view bytes) {
  if (bytes.empty()) malformed("empty payload");
  ScanVisitor scan;
  size_t off = 0;
  bool ok = false;
  try {
    ok = msgpack::parse(bytes.data(), bytes.size(), off, scan);
  } catch (const std::exception& e) {
    malformed(std::string("not msgpack: ") + e.what());
  }
  if (scan.too_deep) malformed("msgpack nested deeper than " + std::to_string(kMaxDepth));
  if (!ok) malformed("not msgpack, or truncated (" + std::to_string(bytes.size()) + " bytes)");
  if (off != bytes.size()) malformed("trailing bytes after the msgpack value");
  try {
    return msgpack::unpack(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    malformed(std::string("not msgpack: ") + e.what());
  }
}

const char* type_name(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "bool";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "binary";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "ext";
  }
  return "unknown";
}

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
