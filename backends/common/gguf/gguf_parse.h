// Internal: parses and validates a whole GGUF image (header, metadata, tensor
// infos) into plain tables. GgufFile owns the bytes; these tables point into them.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backends/common/gguf/gguf_cursor.h"
#include "backends/common/gguf/gguf_value.h"
#include "kernels/cpu/ggml_type.h"

namespace loom {

// One tensor's header. Shapes use ggml order: ne[0] is the contiguous row
// length, unused trailing dims are 1 (a [vocab, dim] embedding is ne = {dim, vocab, 1, 1}).
struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;  // 1..4
  std::array<uint64_t, 4> ne{1, 1, 1, 1};
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;      // bytes from the start of the data section
  uint64_t n_elements = 0;  // ne[0]*ne[1]*ne[2]*ne[3], checked for overflow
  uint64_t n_bytes = 0;     // ggml_row_bytes(type, ne[0]) * ne[1]*ne[2]*ne[3]
};

struct GgufKv {
  std::string_view key;
  GgufValue value;
};

namespace gguf_detail {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian uint32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr int kMaxArrayDepth = 8;  // nested arrays deeper than this are rejected

struct Contents {
  uint32_t version = 0;
  std::vector<GgufKv> metadata;  // in file order
  std::unordered_map<std::string_view, size_t> kv_index;
  std::vector<GgufTensorInfo> tensors;  // in file order
  std::unordered_map<std::string_view, size_t> tensor_index;
  uint32_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;  // file offset of the data section
};

// Throws GgufError on anything malformed; path only labels messages.
Contents parse(std::span<const uint8_t> bytes, std::string_view path);

// gguf_tensors.cpp: reads one tensor info and checks what it can alone (dims,
// type id, element count and byte size overflow, offset alignment).
GgufTensorInfo read_tensor_info(Cursor& c, uint32_t alignment);
// Checks what needs all infos: unique names, each tensor inside the data
// section. info_offsets[i] is where tensor i's info starts (for messages).
void validate_tensors(Contents& out, const std::vector<uint64_t>& info_offsets, const Cursor& c);

}  // namespace gguf_detail
}  // namespace loom
