// Reading untrusted msgpack for the vLLM door (internal to adapters/vllm).
// msgpack-cxx allocates an array's slots when it reads the header, so a short
// frame declaring 2^32 elements would ask for gigabytes: safe_unpack first
// walks the frame with an allocation-free visitor (complete, bounded depth,
// no trailing bytes) and only then builds the object tree.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace loom::vllm_door {

// Why a frame could not be used. kMalformed: not msgpack, or not the shape any
// vLLM sends (dropped and counted). kMismatch: well-formed, but a layout other
// than 0.33.0's (refused with the version line).
struct WireError {
  enum class Kind { kMalformed, kMismatch } kind = Kind::kMalformed;
  std::string message;
  std::optional<std::string> request_id;  // an ADD whose id could be read
};

[[noreturn]] void malformed(std::string message);
[[noreturn]] void mismatch(std::string message);

msgpack::object_handle safe_unpack(std::string_view bytes);

const char* type_name(const msgpack::object& o);
bool is_nil(const msgpack::object& o);
// Typed reads; a wrong type is a layout mismatch naming `field`.
std::string read_string(const msgpack::object& o, std::string_view field);
int64_t read_int(const msgpack::object& o, std::string_view field);
double read_number(const msgpack::object& o, std::string_view field);
bool read_bool(const msgpack::object& o, std::string_view field);
const msgpack::object_array& read_array(const msgpack::object& o, std::string_view field);
const msgpack::object_map& read_map(const msgpack::object& o, std::string_view field);
// A map value by key (nullptr when absent); keys must be strings.
const msgpack::object* find_key(const msgpack::object_map& m, std::string_view key);

}  // namespace loom::vllm_door
