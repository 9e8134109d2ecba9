// A test-only GGUF writer, written from the format spec (ggml/docs/gguf.md),
// not from the reader: it builds valid files with every value type and lets
// tests override any field to build invalid ones.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom::test {

// Value type ids from the spec (enum gguf_metadata_value_type).
enum Vt : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// Little-endian encoder for GGUF fields.
struct Enc {
  std::vector<uint8_t> b;
  template <typename T>
  Enc& pod(T v) {
    uint8_t tmp[sizeof(T)];
    std::memcpy(tmp, &v, sizeof(T));
    b.insert(b.end(), tmp, tmp + sizeof(T));
    return *this;
  }
  Enc& str(std::string_view s) {
    pod<uint64_t>(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Enc& bytes(const std::vector<uint8_t>& v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
};

// An array value's payload (after the kv's type): element type, count, elements.
template <typename T>
std::vector<uint8_t> array_of(uint32_t elem_type, const std::vector<T>& items) {
  Enc e;
  e.pod<uint32_t>(elem_type).pod<uint64_t>(items.size());
  for (const T& x : items) {
    if constexpr (std::is_same_v<T, std::string>)
      e.str(x);
    else
      e.pod(x);
  }
  return e.b;
}

struct TestTensor {
  TestTensor(std::string name_, std::vector<uint64_t> ne_, uint32_t type_,
             std::vector<uint8_t> data_)
      : name(std::move(name_)), ne(std::move(ne_)), type(type_), data(std::move(data_)) {}
  std::string name;
  std::vector<uint64_t> ne;        // n_dims = ne.size()
  uint32_t type = 0;               // raw ggml type id
  std::vector<uint8_t> data;       // exactly the tensor's byte size for valid files
  std::optional<uint64_t> offset;  // default: next aligned offset; if set, data is not written
  std::optional<uint32_t> n_dims;  // default: ne.size()
};

class GgufTestWriter {
 public:
  uint32_t magic = 0x46554747;
  uint32_t version = 3;
  uint32_t alignment = 32;  // pads with this; add general.alignment yourself
  std::optional<uint64_t> n_tensors_override;
  std::optional<uint64_t> n_kv_override;

  // payload = the value's encoding without its type id.
  void add_kv(std::string_view key, uint32_t type, std::vector<uint8_t> payload) {
    Enc e;
    e.str(key).pod<uint32_t>(type).bytes(payload);
    kvs_.push_back(std::move(e.b));
  }
  template <typename T>
  void add(std::string_view key, uint32_t type, T v) {
    add_kv(key, type, Enc().pod(v).b);
  }
  void add_string(std::string_view key, std::string_view s) {
    add_kv(key, kString, Enc().str(s).b);
  }
  void add_tensor(TestTensor t) { tensors_.push_back(std::move(t)); }

  // The data offset the reader should compute, valid after build().
  uint64_t data_start() const { return data_start_; }
  // Offsets of each tensor's data relative to the data section, after build().
  const std::vector<uint64_t>& tensor_offsets() const { return offsets_; }

  // Header, kvs, tensor infos, padding, data. Tensors are padded to the
  // alignment between each other but not after the last one, so every proper
  // prefix of a file with data is invalid.
  std::vector<uint8_t> build() {
    offsets_.clear();
    uint64_t next = 0;
    for (const auto& t : tensors_) {
      offsets_.push_back(t.offset.value_or(next));
      next = pad(offsets_.back() + t.data.size());
    }
    Enc e;
    e.pod(magic).pod(version);
    e.pod<uint64_t>(n_tensors_override.value_or(tensors_.size()));
    e.pod<uint64_t>(n_kv_override.value_or(kvs_.size()));
    for (const auto& kv : kvs_) e.bytes(kv);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      e.str(t.name).pod<uint32_t>(t.n_dims.value_or(t.ne.size()));
      for (uint64_t d : t.ne) e.pod(d);
      e.pod(t.type).pod(offsets_[i]);
    }
    data_start_ = pad(e.b.size());
    e.b.resize(data_start_, 0);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (tensors_[i].offset) continue;
      e.b.resize(std::max<size_t>(e.b.size(), data_start_ + offsets_[i]), 0);
      const auto& d = tensors_[i].data;
      if (data_start_ + offsets_[i] + d.size() > e.b.size())
        e.b.resize(data_start_ + offsets_[i] + d.size());
      std::copy(d.begin(), d.end(),
                e.b.begin() + static_cast<ptrdiff_t>(data_start_ + offsets_[i]));
    }
    return e.b;
  }

 private:
  uint64_t pad(uint64_t x) const { return (x + alignment - 1) / alignment * alignment; }
  std::vector<std::vector<uint8_t>> kvs_;
  std::vector<TestTensor> tensors_;
  std::vector<uint64_t> offsets_;
  uint64_t data_start_ = 0;
};

// Bytes 0, 1, 2, ... (mod 251): a pattern that tells tensors apart.
inline std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>((i + seed * 7u) % 251);
  return v;
}

}  // namespace loom::test
