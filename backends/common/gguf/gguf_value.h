// GGUF metadata values: the 13 value types of the format and a variant that
// holds one of them. Strings and array elements are views into the file's
// bytes, so a value is valid only while its GgufFile lives.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loom {

// Thrown for every malformed file and every wrong-type metadata access. The
// message is one line: what went wrong, where (byte offset), which file.
class GgufError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Value type ids as written in the file (gguf.h's enum gguf_type).
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};

// "uint8", "string", ... ; "type#N" for ids outside the enum.
std::string_view gguf_type_name(GgufType type);
// Bytes of one element of a fixed-size type; 0 for String and Array.
size_t gguf_scalar_size(GgufType type);

struct GgufValue;

// An array value. Numeric and bool elements stay in the file (little-endian,
// possibly unaligned) and are decoded on access; strings and nested arrays
// are indexed at parse time.
struct GgufArray {
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  const uint8_t* raw = nullptr;           // count * scalar size bytes (scalars only)
  std::vector<std::string_view> strings;  // elem_type == String
  std::vector<GgufArray> arrays;          // elem_type == Array

  // Element i as a value (a nested array is copied). Throws when i >= count.
  GgufValue at(uint64_t i) const;
  // "array[int32]", "array[array[string]]"
  std::string type_name() const;
};

// The variant's index equals the GgufType id, so index() names the type.
using GgufVariant = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string_view, GgufArray, uint64_t, int64_t, double>;

struct GgufValue {
  GgufVariant v;

  GgufType type() const { return static_cast<GgufType>(v.index()); }
  // "uint32", or "array[string]" for arrays.
  std::string type_name() const;
  // Any integer type converted to int64 / uint64 when it fits; nullopt otherwise.
  bool is_integer() const;
  bool as_i64(int64_t* out) const;
  bool as_u64(uint64_t* out) const;
  // A short rendering for summaries: scalars in full, arrays as type and length.
  std::string to_string() const;
};

}  // namespace loom
