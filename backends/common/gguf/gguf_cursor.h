// Internal: a bounds-checked little-endian reader over a file's bytes. Every
// read checks the remaining length first and throws GgufError naming the
// field, the byte offset and the file, so the parser never reads out of bounds.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "backends/common/gguf/gguf_value.h"

namespace loom::gguf_detail {

class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, std::string_view path) : bytes_(bytes), path_(path) {}

  uint64_t pos() const { return pos_; }
  // Appended to every error, e.g. "key 'general.name'" or "tensor 3".
  void set_context(std::string context) { context_ = std::move(context); }
  uint64_t remaining() const { return bytes_.size() - pos_; }
  uint64_t size() const { return bytes_.size(); }
  const uint8_t* data_at(uint64_t offset) const { return bytes_.data() + offset; }

  // Throws "gguf: <what> at byte <offset> in <path>".
  [[noreturn]] void fail(const std::string& what, uint64_t offset) const;
  [[noreturn]] void fail(const std::string& what) const { fail(what, pos_); }

  // Reads a T, or throws "truncated <field>".
  template <typename T>
  T read(std::string_view field) {
    need(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  // Returns a view of n bytes and advances; throws when fewer remain.
  const uint8_t* take(uint64_t n, std::string_view field) {
    need(n, field);
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }

  // A GGUF string: uint64 length then that many bytes (not NUL-terminated).
  std::string_view read_string(std::string_view field) {
    const uint64_t start = pos_;
    const uint64_t len = read<uint64_t>(field);
    if (len > remaining())
      fail(std::string(field) + " length " + std::to_string(len) + " exceeds the " +
               std::to_string(remaining()) + " bytes left",
           start);
    return {reinterpret_cast<const char*>(take(len, field)), static_cast<size_t>(len)};
  }

  // Throws unless count items of at least min_item_bytes each can still fit:
  // the check every count read from the file passes before anything is allocated.
  void check_count(uint64_t count, uint64_t min_item_bytes, std::string_view what,
                   uint64_t at) const {
    if (min_item_bytes != 0 && count > remaining() / min_item_bytes)
      fail(std::string(what) + " " + std::to_string(count) + " cannot fit in the " +
               std::to_string(remaining()) + " bytes left",
           at);
  }

 private:
  void need(uint64_t n, std::string_view field) const {
    if (n > remaining())
      fail("truncated " + std::string(field) + " (needs " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left)");
  }

  std::span<const uint8_t> bytes_;
  std::string_view path_;
  std::string context_;
  uint64_t pos_ = 0;
};

}  // namespace loom::gguf_detail
