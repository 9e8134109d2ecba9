// A read-only memory mapping of a whole file (RAII, move-only).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace loom {

class MappedFile {
 public:
  MappedFile() = default;
  // Maps path read-only; throws GgufError naming the path and errno text.
  // An empty file gives an empty mapping (data() == nullptr).
  static MappedFile map(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void unmap();
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace loom
