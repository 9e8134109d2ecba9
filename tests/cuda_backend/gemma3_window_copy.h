// A copy of a Gemma 3 GGUF with another sliding window, so short prompts
// outgrow it: gemma3.attention.sliding_window's u32 is rewritten in place
// and the copy written to the temp directory. Shared by the Gemma 3 tests of
// this folder; `tag` keeps the copies of tests that run in parallel apart.
#pragma once
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace loom::test {

// The copy's path; "" when the key is not a u32 in the file.
inline std::string window_patched_copy(const std::string& path, uint32_t window, const std::string& tag) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(std::filesystem::file_size(path), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::string key = "gemma3.attention.sliding_window";
  std::string needle(sizeof(uint64_t), '\0');
  const uint64_t len = key.size();  // GGUF strings: u64 length, then the bytes
  std::memcpy(needle.data(), &len, sizeof(len));
  needle += key;
  const size_t at = bytes.find(needle);
  if (at == std::string::npos) return "";
  const size_t value = at + needle.size();
  uint32_t type = 0;
  std::memcpy(&type, &bytes[value], sizeof(type));
  if (type != 4) return "";  // GGUF_TYPE_UINT32
  std::memcpy(&bytes[value + sizeof(type)], &window, sizeof(window));
  const auto out = std::filesystem::temp_directory_path() /
                   ("loom_gemma3_window" + std::to_string(window) + "_" + tag + ".gguf");
  std::ofstream(out, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return out.string();
}

}  // namespace loom::test
