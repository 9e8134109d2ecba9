// GgufFile: a validated, read-only view of a GGUF v2/v3 model file.
//
//   auto f = loom::GgufFile::open(path);            // mmap + full validation
//   uint32_t n_layer = f.get_u32("llama.block_count").value();
//   const loom::GgufTensorInfo* t = f.find_tensor("token_embd.weight");
//   const uint8_t* w = f.tensor_data(*t);            // t->n_bytes bytes, in the mapping
//
// Every malformed input throws loom::GgufError at open/from_bytes time; once
// constructed, every tensor lies inside the data section and every metadata
// value was decoded in bounds. String views, arrays and tensor pointers stay
// valid while the GgufFile (or what it was moved into) lives.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/common/gguf/gguf_mmap.h"
#include "backends/common/gguf/gguf_parse.h"
#include "backends/common/gguf/gguf_value.h"

namespace loom {

class GgufFile {
 public:
  static GgufFile open(const std::string& path);
  // name labels error messages (e.g. a fuzzer input's file name).
  static GgufFile from_bytes(std::vector<uint8_t> bytes, std::string name = "");
  static GgufFile from_bytes(std::span<const uint8_t> bytes, std::string name = "");

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return c_.version; }
  const std::string& path() const { return path_; }
  size_t file_size() const { return bytes_.size(); }
  uint32_t alignment() const { return c_.alignment; }
  uint64_t data_offset() const { return c_.data_offset; }

  // Metadata in file order, and lookup by key (nullptr when absent).
  const std::vector<GgufKv>& metadata() const { return c_.metadata; }
  const GgufValue* find(std::string_view key) const;

  // Typed getters: nullopt when the key is absent; GgufError naming the key,
  // the expected and the actual type when present with another type.
  // Integer getters accept any integer type whose value fits the result.
  std::optional<uint32_t> get_u32(std::string_view key) const;
  std::optional<int32_t> get_i32(std::string_view key) const;
  std::optional<uint64_t> get_u64(std::string_view key) const;
  std::optional<int64_t> get_i64(std::string_view key) const;
  std::optional<float> get_f32(std::string_view key) const;   // float32 (or float64, narrowed)
  std::optional<double> get_f64(std::string_view key) const;  // float64 or float32
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // Arrays: a view (any element type), or decoded copies of a typed array.
  const GgufArray* get_array(std::string_view key) const;
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<int32_t>> get_i32_array(
      std::string_view key) const;  // any int type that fits
  std::optional<std::vector<float>> get_f32_array(std::string_view key) const;  // float32 only

  // Tensors in file order, lookup by name, and their bytes in the file.
  const std::vector<GgufTensorInfo>& tensors() const { return c_.tensors; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  const uint8_t* tensor_data(const GgufTensorInfo& info) const;  // info must come from this file
  std::span<const uint8_t> tensor_bytes(const GgufTensorInfo& info) const;

  // A few lines: version, arch, name, counts, a histogram of tensor types.
  std::string describe() const;

 private:
  GgufFile(MappedFile map, std::vector<uint8_t> owned, std::string path);
  [[noreturn]] void wrong_type(std::string_view key, std::string_view expected,
                               const GgufValue& actual) const;
  template <typename T>
  std::optional<T> get_int(std::string_view key, std::string_view expected) const;

  MappedFile map_;              // set by open()
  std::vector<uint8_t> owned_;  // set by from_bytes(); its buffer never moves
  std::string path_;
  std::span<const uint8_t> bytes_;
  gguf_detail::Contents c_;
};

}  // namespace loom
