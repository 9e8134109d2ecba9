#include <map>

#include "backends/common/gguf/gguf_file.h"

namespace loom {

// E.g.
//   GGUF v3, 98362432 bytes, alignment 32, data at 1709440
//   arch llama, name "SmolLM2 135M Instruct"
//   39 metadata keys, 272 tensors: F32 x61, Q4_1 x210, Q8_0 x1 (98 MB of data)
std::string GgufFile::describe() const {
  std::string out = "GGUF v" + std::to_string(version()) + ", " + std::to_string(file_size()) +
                    " bytes, alignment " + std::to_string(alignment()) + ", data at " +
                    std::to_string(data_offset()) + "\n";
  const GgufValue* arch = find("general.architecture");
  const GgufValue* name = find("general.name");
  out += "arch " + (arch ? arch->to_string() : std::string("?")) + ", name " +
         (name ? name->to_string() : std::string("?")) + "\n";
  std::map<std::string_view, size_t> histogram;
  uint64_t data_bytes = 0;
  for (const auto& t : tensors()) {
    ++histogram[ggml_type_info(t.type).name];
    data_bytes += t.n_bytes;
  }
  out += std::to_string(metadata().size()) + " metadata keys, " + std::to_string(tensors().size()) +
         " tensors:";
  const char* sep = " ";
  for (const auto& [type, n] : histogram) {
    out += sep + std::string(type) + " x" + std::to_string(n);
    sep = ", ";
  }
  out += " (" + std::to_string(data_bytes) + " bytes of data)\n";
  return out;
}

}  // namespace loom
