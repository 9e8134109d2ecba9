// Pre-tokenizers: split text (as code points) into the words BPE merges within.
// Each family is straight-line code reproducing llama.cpp's regex semantics
// (src/unicode.cpp custom splitters + its std::regex passes); see README.md.
#pragma once
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace loom {

enum class PreTokenizer {
  kGpt2,     // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kSmollm,   // \p{N} isolated first, then kGpt2 (also starcoder, refact, command-r...)
  kLlama3,   // (?i:'s|..)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  kQwen2,    // kLlama3 with \p{N} instead of \p{N}{1,3}
  kDefault,  // llama.cpp's fallback: punctuation runs, kGpt2, \p{N}+, [0-9]{3}
};

// Maps tokenizer.ggml.pre to a family; false when unknown.
bool pre_tokenizer_from_name(std::string_view pre, PreTokenizer& out);

// Splits cpts into words; appends each word's length in code points to
// `lengths` (they sum to cpts.size()). `classes[i]` is unicode::cpt_class(cpts[i]).
void pre_tokenize(PreTokenizer kind, std::span<const uint32_t> cpts,
                  std::span<const uint8_t> classes, std::vector<uint32_t>& lengths);

}  // namespace loom
