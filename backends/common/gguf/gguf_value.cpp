#include "backends/common/gguf/gguf_value.h"

#include <bit>
#include <cstring>

namespace loom {

static_assert(std::endian::native == std::endian::little,
              "GGUF values are decoded with memcpy; a big-endian host needs byte swaps");

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8:
      return "uint8";
    case GgufType::I8:
      return "int8";
    case GgufType::U16:
      return "uint16";
    case GgufType::I16:
      return "int16";
    case GgufType::U32:
      return "uint32";
    case GgufType::I32:
      return "int32";
    case GgufType::F32:
      return "float32";
    case GgufType::Bool:
      return "bool";
    case GgufType::String:
      return "string";
    case GgufType::Array:
      return "array";
    case GgufType::U64:
      return "uint64";
    case GgufType::I64:
      return "int64";
    case GgufType::F64:
      return "float64";
  }
  return "unknown type";
}

size_t gguf_scalar_size(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::String:
    case GgufType::Array:
      return 0;
  }
  return 0;
}

namespace {

template <typename T>
T load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

GgufVariant load_scalar(GgufType type, const uint8_t* p) {
  switch (type) {
    case GgufType::U8:
      return load<uint8_t>(p);
    case GgufType::I8:
      return load<int8_t>(p);
    case GgufType::U16:
      return load<uint16_t>(p);
    case GgufType::I16:
      return load<int16_t>(p);
    case GgufType::U32:
      return load<uint32_t>(p);
    case GgufType::I32:
      return load<int32_t>(p);
    case GgufType::F32:
      return load<float>(p);
    case GgufType::Bool:
      return *p != 0;  // the parser admits only 0 and 1
    case GgufType::U64:
      return load<uint64_t>(p);
    case GgufType::I64:
      return load<int64_t>(p);
    case GgufType::F64:
      return load<double>(p);
    default:
      break;
  }
  throw GgufError("gguf: internal error: not a scalar type");
}

}  // namespace

GgufValue GgufArray::at(uint64_t i) const {
  if (i >= count)
    throw GgufError("gguf: array index " + std::to_string(i) + " out of range (" +
                    std::to_string(count) + " elements)");
  if (elem_type == GgufType::String) return GgufValue{strings[i]};
  if (elem_type == GgufType::Array) return GgufValue{arrays[i]};
  return GgufValue{load_scalar(elem_type, raw + i * gguf_scalar_size(elem_type))};
}

std::string GgufArray::type_name() const {
  std::string inner;
  if (elem_type != GgufType::Array)
    inner = gguf_type_name(elem_type);
  else if (!arrays.empty())
    inner = arrays.front().type_name();
  else
    inner = "array";
  return "array[" + inner + "]";
}

std::string GgufValue::type_name() const {
  if (auto* a = std::get_if<GgufArray>(&v)) return a->type_name();
  return std::string(gguf_type_name(type()));
}

bool GgufValue::is_integer() const {
  switch (type()) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::as_i64(int64_t* out) const {
  if (!is_integer()) return false;
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(*u);
    return true;
  }
  *out = std::visit(
      [](auto x) -> int64_t {
        if constexpr (std::is_integral_v<decltype(x)>)
          return static_cast<int64_t>(x);
        else
          return 0;
      },
      v);
  return true;
}

bool GgufValue::as_u64(uint64_t* out) const {
  if (auto* u = std::get_if<uint64_t>(&v)) {
    *out = *u;
    return true;
  }
  int64_t s = 0;
  if (!as_i64(&s) || s < 0) return false;
  *out = static_cast<uint64_t>(s);
  return true;
}

std::string GgufValue::to_string() const {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, GgufArray>)
          return x.type_name() + " of " + std::to_string(x.count);
        else if constexpr (std::is_same_v<T, std::string_view>)
          return "\"" + std::string(x) + "\"";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else
          return std::to_string(x);
      },
      v);
}

}  // namespace loom
