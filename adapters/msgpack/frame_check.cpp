#include "adapters/msgpack/frame_check.h"

namespace loom::msgpack_frame {
namespace {

// Bounded depth; the parser itself reports truncation. Declared element
// counts cost nothing here.
struct ScanVisitor : msgpack::null_visitor {
  explicit ScanVisitor(uint32_t max) : max_depth(max) {}
  uint32_t max_depth;
  uint32_t depth = 0;
  bool too_deep = false;
  bool enter() {
    if (++depth > max_depth) too_deep = true;
    return !too_deep;
  }
  bool start_array(uint32_t) { return enter(); }
  bool end_array() { --depth; return true; }
  bool start_map(uint32_t) { return enter(); }
  bool end_map() { --depth; return true; }
  void parse_error(size_t, size_t) {}
  void insufficient_bytes(size_t, size_t) {}
};

}  // namespace

std::optional<std::string> check_frame(std::string_view bytes, uint32_t max_depth) {
  if (bytes.empty()) return "empty (expected one msgpack value)";
  ScanVisitor scan(max_depth);
  size_t off = 0;
  bool ok = false;
  try {
    ok = msgpack::parse(bytes.data(), bytes.size(), off, scan);
  } catch (const std::exception& e) {
    return std::string("malformed msgpack: ") + e.what();
  }
  if (scan.too_deep) return "msgpack nesting deeper than " + std::to_string(max_depth);
  if (!ok) return "malformed or truncated msgpack (" + std::to_string(bytes.size()) + " bytes)";
  if (off != bytes.size())
    return "trailing bytes after the msgpack value (" + std::to_string(bytes.size() - off) + " of " +
           std::to_string(bytes.size()) + ")";
  return std::nullopt;
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

}  // namespace loom::msgpack_frame
