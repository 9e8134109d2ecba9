// Test/bench helpers: VocabData from a GGUF (a stand-in for the engine's glue)
// or from the JSON fixtures, and hex decoding for fixture strings.
#pragma once
#include <string>

#include "backends/common/tokenizer/vocab_data.h"

namespace loom::test {

// Reads the tokenizer.ggml.* keys; absent flags take llama.cpp's defaults.
VocabData load_vocab_from_gguf(const std::string& path);

// spm_vocab.json written by tests/reference/make_tokenizer_fixtures.py.
VocabData load_vocab_from_json(const std::string& path);

std::string from_hex(const std::string& hex);

}  // namespace loom::test
