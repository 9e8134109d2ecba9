// Hostile-input-safe msgpack reading for the codec (internal to adapters/zmq).
//
// msgpack-cxx allocates an array's or map's slots as soon as it reads the
// header, so a 5-byte frame declaring 2^32 elements would ask for 100 GB.
// safe_unpack therefore first walks the frame with an allocation-free
// visitor (complete, well-formed, bounded depth), and only then builds the
// object tree: every slot is then backed by at least one byte of input.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>

#include "adapters/zmq/codec.h"

namespace loom::zmq_proto::detail {

inline constexpr uint32_t kMaxDepth = 8;
inline constexpr uint32_t kMaxMapKeys = 64;

// Thrown inside the codec, caught at its boundary and turned into an error.
struct DecodeFailure {
  ProtocolError error;
};

[[noreturn]] void fail(std::string field, std::string message,
                       ErrorCode code = ErrorCode::kBadRequest);

// The whole frame as one msgpack value; fails on malformed, truncated,
// trailing bytes or nesting deeper than kMaxDepth.
msgpack::object_handle safe_unpack(std::string_view frame);

const char* type_name(const msgpack::object& o);  // "string", "integer", ...
bool is_nil(const msgpack::object& o);

std::string read_string(const msgpack::object& o, const std::string& field);
std::string_view read_string_view(const msgpack::object& o, const std::string& field);
std::string read_binary(const msgpack::object& o, const std::string& field);  // bin or str
int64_t read_int(const msgpack::object& o, const std::string& field, int64_t lo, int64_t hi);
uint64_t read_uint64(const msgpack::object& o, const std::string& field);
double read_number(const msgpack::object& o, const std::string& field);  // int or float
bool read_bool(const msgpack::object& o, const std::string& field);
const msgpack::object_array& read_array(const msgpack::object& o, const std::string& field);
const msgpack::object_map& read_map(const msgpack::object& o, const std::string& field);

// A map's values by key. Keys must be strings and unique; every lookup marks
// its key, and unused() lists the keys nobody asked for (ignored fields).
class MapView {
 public:
  MapView(const msgpack::object& o, std::string path);
  const msgpack::object* get(std::string_view key);  // nullptr when absent or nil
  const msgpack::object& require(std::string_view key);
  std::string path_of(std::string_view key) const;
  void collect_unused(std::vector<std::string>& out) const;

 private:
  const msgpack::object_map* map_;
  std::string path_;
  std::vector<bool> used_;
};

// `tokenize`, `detokenize`, `model_info` (codec_info.cpp).
ClientMessage read_info_request(const std::string& type, MapView& m, const std::string& id);
void read_info_reply(const std::string& type, MapView& m, ServerMessage& msg);

}  // namespace loom::zmq_proto::detail
