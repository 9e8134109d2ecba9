// GGUF layout (v2/v3, little-endian), as the spec (ggml/docs/gguf.md) gives it:
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x { string key | u32 value type | value }
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   padding to general.alignment | data section (tensor offsets are relative to it)
// where string = u64 length + bytes, array = u32 element type + u64 count + elements.
#include <bit>

#include "backends/common/gguf/gguf_parse.h"

namespace loom::gguf_detail {
namespace {

// Smallest encodings, used to bound counts before anything is reserved.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;                  // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, 1 dim
constexpr uint64_t kMinArrayBytes = 4 + 8;                   // element type + count
constexpr uint64_t kMinStringBytes = 8;

GgufType read_type(Cursor& c, std::string_view field) {
  const uint64_t at = c.pos();
  const uint32_t raw = c.read<uint32_t>(field);
  if (raw > static_cast<uint32_t>(GgufType::F64))
    c.fail("unknown " + std::string(field) + " " + std::to_string(raw), at);
  return static_cast<GgufType>(raw);
}

GgufArray read_array(Cursor& c, int depth);

GgufValue read_value(Cursor& c, GgufType type, int depth) {
  switch (type) {
    case GgufType::U8:
      return {c.read<uint8_t>("uint8 value")};
    case GgufType::I8:
      return {c.read<int8_t>("int8 value")};
    case GgufType::U16:
      return {c.read<uint16_t>("uint16 value")};
    case GgufType::I16:
      return {c.read<int16_t>("int16 value")};
    case GgufType::U32:
      return {c.read<uint32_t>("uint32 value")};
    case GgufType::I32:
      return {c.read<int32_t>("int32 value")};
    case GgufType::F32:
      return {c.read<float>("float32 value")};
    case GgufType::U64:
      return {c.read<uint64_t>("uint64 value")};
    case GgufType::I64:
      return {c.read<int64_t>("int64 value")};
    case GgufType::F64:
      return {c.read<double>("float64 value")};
    case GgufType::String:
      return {c.read_string("string value")};
    case GgufType::Array:
      return {read_array(c, depth + 1)};
    case GgufType::Bool: {
      const uint64_t at = c.pos();
      const uint8_t b = c.read<uint8_t>("bool value");
      if (b > 1) c.fail("bool value " + std::to_string(b) + " is neither 0 nor 1", at);
      return {b == 1};
    }
  }
  c.fail("unknown value type");
}

// Every count is checked against the bytes left before reserve(), so a
// hostile count cannot make us allocate more than a few times the file size.
GgufArray read_array(Cursor& c, int depth) {
  const uint64_t at = c.pos();
  if (depth > kMaxArrayDepth)
    c.fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth), at);
  GgufArray a;
  a.elem_type = read_type(c, "array element type");
  a.count = c.read<uint64_t>("array length");
  if (a.elem_type == GgufType::String) {
    c.check_count(a.count, kMinStringBytes, "array length", at);
    a.strings.reserve(a.count);
    for (uint64_t i = 0; i < a.count; ++i) a.strings.push_back(c.read_string("array string"));
  } else if (a.elem_type == GgufType::Array) {
    // No reserve here: nested arrays could each claim the whole remainder
    // before failing; growing as they parse keeps memory tied to bytes read.
    c.check_count(a.count, kMinArrayBytes, "array length", at);
    for (uint64_t i = 0; i < a.count; ++i) a.arrays.push_back(read_array(c, depth + 1));
  } else {
    const uint64_t size = gguf_scalar_size(a.elem_type);
    c.check_count(a.count, size, "array length", at);
    const uint64_t elems_at = c.pos();
    a.raw = c.take(a.count * size, "array elements");
    if (a.elem_type == GgufType::Bool) {
      for (uint64_t i = 0; i < a.count; ++i)
        if (a.raw[i] > 1)
          c.fail("bool array element " + std::to_string(i) + " is neither 0 nor 1", elems_at + i);
    }
  }
  return a;
}

void read_header(Cursor& c, Contents& out, uint64_t* n_tensors, uint64_t* n_kv) {
  const uint32_t magic = c.read<uint32_t>("magic");
  if (magic != kMagic) c.fail("bad magic (not a GGUF file)", 0);
  out.version = c.read<uint32_t>("version");
  if (out.version != 2 && out.version != 3) {
    const uint32_t swapped = __builtin_bswap32(out.version);
    const bool big_endian = swapped >= 1 && swapped <= 3;
    c.fail("unsupported GGUF version " + std::to_string(out.version) +
               (out.version == 1 ? " (v1 is obsolete; only v2 and v3 are read)"
                : big_endian     ? " (a big-endian file? only little-endian is read)"
                                 : " (only v2 and v3 are read)"),
           4);
  }
  *n_tensors = c.read<uint64_t>("tensor count");
  *n_kv = c.read<uint64_t>("metadata count");
  c.check_count(*n_kv, kMinKvBytes, "metadata count", 16);
  c.check_count(*n_tensors, kMinTensorInfoBytes, "tensor count", 8);
}

void read_metadata(Cursor& c, Contents& out, uint64_t n_kv) {
  out.metadata.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = c.pos();
    c.set_context("metadata entry " + std::to_string(i));
    const std::string_view key = c.read_string("key");
    c.set_context("key '" + std::string(key) + "'");
    if (out.kv_index.count(key)) c.fail("duplicate key", at);
    const GgufType type = read_type(c, "value type");
    out.metadata.push_back({key, read_value(c, type, 0)});
    out.kv_index.emplace(key, out.metadata.size() - 1);
  }
  c.set_context("");
}

// general.alignment: any integer type that fits uint32 (the spec says uint32),
// nonzero and a power of two.
void read_alignment(Cursor& c, Contents& out) {
  auto it = out.kv_index.find("general.alignment");
  if (it == out.kv_index.end()) return;
  const GgufValue& v = out.metadata[it->second].value;
  uint64_t a = 0;
  if (!v.as_u64(&a) || a > UINT32_MAX || !std::has_single_bit(a))
    c.fail("general.alignment " + v.to_string() + " (" + v.type_name() +
               ") is not a power of two that fits uint32",
           0);
  out.alignment = static_cast<uint32_t>(a);
}

}  // namespace

Contents parse(std::span<const uint8_t> bytes, std::string_view path) {
  Cursor c(bytes, path);
  Contents out;
  uint64_t n_tensors = 0, n_kv = 0;
  read_header(c, out, &n_tensors, &n_kv);
  read_metadata(c, out, n_kv);
  read_alignment(c, out);

  out.tensors.reserve(n_tensors);
  std::vector<uint64_t> info_offsets;
  info_offsets.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = c.pos();
    c.set_context("tensor " + std::to_string(i));
    out.tensors.push_back(read_tensor_info(c, out.alignment));
    info_offsets.push_back(at);
  }
  c.set_context("");
  // The data section starts at the next multiple of the alignment.
  const uint64_t a = out.alignment;
  out.data_offset = (c.pos() + a - 1) / a * a;  // pos < 2^63, no overflow
  validate_tensors(out, info_offsets, c);
  return out;
}

}  // namespace loom::gguf_detail
