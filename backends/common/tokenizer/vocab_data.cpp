#include "backends/common/tokenizer/vocab_data.h"

#include <array>

namespace loom {

VocabFlagDefaults llama_cpp_flag_defaults(std::string_view model, std::string_view pre) {
  if (model == "llama") return {true, false, true};
  // llama.cpp's load(): these pre-tokenizers set add_bos = true.
  static constexpr std::array<std::string_view, 13> kBosPre = {
      "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
      "lfm2",   "jina-v5-nano", "tekken", "chameleon", "gemma4", "granite-embed-multi-311m"};
  for (std::string_view p : kBosPre)
    if (p == pre) return {true, false, false};
  return {false, false, false};
}

}  // namespace loom
