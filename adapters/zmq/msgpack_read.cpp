#include "adapters/zmq/msgpack_read.h"

#include <limits>

#include "adapters/msgpack/frame_check.h"

namespace loom::zmq_proto::detail {

namespace {

std::string got(const msgpack::object& o) { return std::string("got ") + type_name(o); }

}  // namespace

void fail(std::string field, std::string message, ErrorCode code) {
  std::string text = field.empty() ? message : field + ": " + message;
  throw DecodeFailure{ProtocolError{code, std::move(field), std::move(text)}};
}

msgpack::object_handle safe_unpack(std::string_view frame) {
  if (frame.empty()) fail("", "empty frame (expected one msgpack map)");
  if (auto why = msgpack_frame::check_frame(frame, kMaxDepth)) fail("", *why);
  try {
    return msgpack::unpack(frame.data(), frame.size());
  } catch (const std::exception& e) {
    fail("", std::string("malformed msgpack: ") + e.what());
  }
}

const char* type_name(const msgpack::object& o) { return msgpack_frame::type_name(o); }

bool is_nil(const msgpack::object& o) { return o.type == msgpack::type::NIL; }

std::string_view read_string_view(const msgpack::object& o, const std::string& field) {
  if (o.type != msgpack::type::STR) fail(field, "expected string, " + got(o));
  return {o.via.str.ptr, o.via.str.size};
}

std::string read_string(const msgpack::object& o, const std::string& field) {
  return std::string(read_string_view(o, field));
}

std::string read_binary(const msgpack::object& o, const std::string& field) {
  if (o.type == msgpack::type::BIN) return std::string(o.via.bin.ptr, o.via.bin.size);
  if (o.type == msgpack::type::STR) return std::string(o.via.str.ptr, o.via.str.size);
  fail(field, "expected binary, " + got(o));
}

int64_t read_int(const msgpack::object& o, const std::string& field, int64_t lo, int64_t hi) {
  auto range = [&](const std::string& value) {
    fail(field, "expected integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "], got " + value);
  };
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(hi)) range(std::to_string(o.via.u64));
    return static_cast<int64_t>(o.via.u64);
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    if (o.via.i64 < lo) range(std::to_string(o.via.i64));
    return o.via.i64;
  }
  fail(field, "expected integer, " + got(o));
}

uint64_t read_uint64(const msgpack::object& o, const std::string& field) {
  if (o.type == msgpack::type::POSITIVE_INTEGER) return o.via.u64;
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    fail(field, "expected non-negative integer, got " + std::to_string(o.via.i64));
  }
  fail(field, "expected integer, " + got(o));
}

double read_number(const msgpack::object& o, const std::string& field) {
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER: return static_cast<double>(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER: return static_cast<double>(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return o.via.f64;
    default: fail(field, "expected number, " + got(o));
  }
}

bool read_bool(const msgpack::object& o, const std::string& field) {
  if (o.type != msgpack::type::BOOLEAN) fail(field, "expected bool, " + got(o));
  return o.via.boolean;
}

const msgpack::object_array& read_array(const msgpack::object& o, const std::string& field) {
  if (o.type != msgpack::type::ARRAY) fail(field, "expected array, " + got(o));
  return o.via.array;
}

const msgpack::object_map& read_map(const msgpack::object& o, const std::string& field) {
  if (o.type != msgpack::type::MAP) fail(field, "expected map, " + got(o));
  return o.via.map;
}

MapView::MapView(const msgpack::object& o, std::string path)
    : map_(&read_map(o, path)), path_(std::move(path)) {
  // Every protocol map is small; the bound keeps the duplicate check cheap.
  if (map_->size > kMaxMapKeys) {
    fail(path_, "map with " + std::to_string(map_->size) + " keys (at most " +
                    std::to_string(kMaxMapKeys) + ")");
  }
  used_.assign(map_->size, false);
  for (uint32_t i = 0; i < map_->size; ++i) {
    const msgpack::object& key = map_->ptr[i].key;
    if (key.type != msgpack::type::STR) {
      fail(path_, std::string("map keys must be strings, got ") + type_name(key));
    }
    for (uint32_t j = 0; j < i; ++j) {
      if (map_->ptr[j].key.via.str.size == key.via.str.size &&
          std::string_view(map_->ptr[j].key.via.str.ptr, key.via.str.size) ==
              std::string_view(key.via.str.ptr, key.via.str.size)) {
        fail(path_of(std::string_view(key.via.str.ptr, key.via.str.size)), "duplicate key");
      }
    }
  }
}

const msgpack::object* MapView::get(std::string_view key) {
  for (uint32_t i = 0; i < map_->size; ++i) {
    const msgpack::object& k = map_->ptr[i].key;
    if (std::string_view(k.via.str.ptr, k.via.str.size) == key) {
      used_[i] = true;
      return is_nil(map_->ptr[i].val) ? nullptr : &map_->ptr[i].val;
    }
  }
  return nullptr;
}

const msgpack::object& MapView::require(std::string_view key) {
  const msgpack::object* o = get(key);
  if (o == nullptr) fail(path_of(key), "missing");
  return *o;
}

std::string MapView::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void MapView::collect_unused(std::vector<std::string>& out) const {
  for (uint32_t i = 0; i < map_->size; ++i) {
    if (used_[i]) continue;
    const msgpack::object& k = map_->ptr[i].key;
    out.push_back(path_of(std::string_view(k.via.str.ptr, k.via.str.size)));
  }
}

}  // namespace loom::zmq_proto::detail
