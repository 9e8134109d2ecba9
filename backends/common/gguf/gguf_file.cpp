#include "backends/common/gguf/gguf_file.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace loom {

GgufFile::GgufFile(MappedFile map, std::vector<uint8_t> owned, std::string path)
    : map_(std::move(map)), owned_(std::move(owned)), path_(std::move(path)) {
  bytes_ = map_.data() ? std::span<const uint8_t>(map_.data(), map_.size())
                       : std::span<const uint8_t>(owned_);
  c_ = gguf_detail::parse(bytes_, path_);
}

GgufFile GgufFile::open(const std::string& path) {
  return GgufFile(MappedFile::map(path), {}, path);
}

GgufFile GgufFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
  return GgufFile(MappedFile(), std::move(bytes), std::move(name));
}

GgufFile GgufFile::from_bytes(std::span<const uint8_t> bytes, std::string name) {
  return from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), std::move(name));
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = c_.kv_index.find(key);
  return it == c_.kv_index.end() ? nullptr : &c_.metadata[it->second].value;
}

void GgufFile::wrong_type(std::string_view key, std::string_view expected,
                          const GgufValue& actual) const {
  std::string msg = "gguf: key '" + std::string(key) + "' has type " + actual.type_name() +
                    ", expected " + std::string(expected);
  if (!path_.empty()) msg += " in " + path_;
  throw GgufError(msg);
}

template <typename T>
std::optional<T> GgufFile::get_int(std::string_view key, std::string_view expected) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) wrong_type(key, expected, *v);
  int64_t s = 0;
  uint64_t u = 0;
  if (v->as_i64(&s) && s >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
      (s < 0 || static_cast<uint64_t>(s) <= static_cast<uint64_t>(std::numeric_limits<T>::max())))
    return static_cast<T>(s);
  if (v->as_u64(&u) && u <= static_cast<uint64_t>(std::numeric_limits<T>::max()))
    return static_cast<T>(u);
  std::string msg = "gguf: key '" + std::string(key) + "' value " + v->to_string() + " (" +
                    v->type_name() + ") does not fit " + std::string(expected);
  if (!path_.empty()) msg += " in " + path_;
  throw GgufError(msg);
}

std::optional<uint32_t> GgufFile::get_u32(std::string_view key) const {
  return get_int<uint32_t>(key, "uint32");
}
std::optional<int32_t> GgufFile::get_i32(std::string_view key) const {
  return get_int<int32_t>(key, "int32");
}
std::optional<uint64_t> GgufFile::get_u64(std::string_view key) const {
  return get_int<uint64_t>(key, "uint64");
}
std::optional<int64_t> GgufFile::get_i64(std::string_view key) const {
  return get_int<int64_t>(key, "int64");
}

std::optional<double> GgufFile::get_f64(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* f = std::get_if<float>(&v->v)) return *f;
  if (auto* d = std::get_if<double>(&v->v)) return *d;
  wrong_type(key, "float32 or float64", *v);
}

std::optional<float> GgufFile::get_f32(std::string_view key) const {
  auto d = get_f64(key);
  if (!d) return std::nullopt;
  return static_cast<float>(*d);
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* b = std::get_if<bool>(&v->v)) return *b;
  wrong_type(key, "bool", *v);
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (auto* s = std::get_if<std::string_view>(&v->v)) return std::string(*s);
  wrong_type(key, "string", *v);
}

const GgufArray* GgufFile::get_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  if (auto* a = std::get_if<GgufArray>(&v->v)) return a;
  wrong_type(key, "array", *v);
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufArray* a = get_array(key);
  if (!a) return std::nullopt;
  if (a->elem_type != GgufType::String) wrong_type(key, "array[string]", *find(key));
  return std::vector<std::string>(a->strings.begin(), a->strings.end());
}

std::optional<std::vector<int32_t>> GgufFile::get_i32_array(std::string_view key) const {
  const GgufArray* a = get_array(key);
  if (!a) return std::nullopt;
  const GgufType t = a->elem_type;
  if (t == GgufType::F32 || t == GgufType::F64 || t == GgufType::Bool || t == GgufType::String ||
      t == GgufType::Array)
    wrong_type(key, "array of an integer type", *find(key));
  std::vector<int32_t> out;
  out.reserve(a->count);
  for (uint64_t i = 0; i < a->count; ++i) {
    const GgufValue e = a->at(i);
    int64_t s = 0;
    if (!e.as_i64(&s) || s < INT32_MIN || s > INT32_MAX)
      throw GgufError("gguf: key '" + std::string(key) + "' element " + std::to_string(i) + " = " +
                      e.to_string() + " does not fit int32" +
                      (path_.empty() ? "" : " in " + path_));
    out.push_back(static_cast<int32_t>(s));
  }
  return out;
}

std::optional<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufArray* a = get_array(key);
  if (!a) return std::nullopt;
  if (a->elem_type != GgufType::F32) wrong_type(key, "array[float32]", *find(key));
  std::vector<float> out(a->count);
  if (a->count) std::memcpy(out.data(), a->raw, a->count * sizeof(float));
  return out;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = c_.tensor_index.find(name);
  return it == c_.tensor_index.end() ? nullptr : &c_.tensors[it->second];
}

const uint8_t* GgufFile::tensor_data(const GgufTensorInfo& info) const {
  return bytes_.data() + c_.data_offset + info.offset;
}

std::span<const uint8_t> GgufFile::tensor_bytes(const GgufTensorInfo& info) const {
  return {tensor_data(info), static_cast<size_t>(info.n_bytes)};
}

}  // namespace loom
