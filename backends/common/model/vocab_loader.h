// Builds the tokenizer's plain VocabData from a GGUF file's tokenizer.ggml.* keys.
#pragma once
#include "backends/common/tokenizer/vocab_data.h"

namespace loom {

class GgufFile;

// Throws ModelError when the vocabulary is missing or inconsistent.
VocabData read_vocab(const GgufFile& file);

}  // namespace loom
