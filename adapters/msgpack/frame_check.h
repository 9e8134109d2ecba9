// Untrusted msgpack, checked before it is unpacked (shared by the ZeroMQ v1
// and the vLLM doors).
//
// msgpack-cxx allocates an array's or map's slots as soon as it reads the
// header, so a 5-byte frame declaring 2^32 elements would ask for 100 GB.
// check_frame walks the bytes with an allocation-free visitor first; once it
// passes, every slot msgpack::unpack makes is backed by input bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <msgpack.hpp>

namespace loom::msgpack_frame {

// Why `bytes` is not exactly one complete msgpack value nested at most
// `max_depth` arrays/maps deep (empty input included); nullopt when it is.
std::optional<std::string> check_frame(std::string_view bytes, uint32_t max_depth);

// "nil", "bool", "integer", "float", "string", "binary", "array", "map", "ext".
const char* type_name(const msgpack::object& o);

}  // namespace loom::msgpack_frame
