// The plain data a Tokenizer is built from (no file format here: the GGUF glue
// fills it from the tokenizer.ggml.* keys).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom {

// llama_token_type values as stored in tokenizer.ggml.token_type.
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct VocabData {
  std::string model;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre;    // tokenizer.ggml.pre: "smollm", "llama3"/"llama-bpe", "qwen2", "gpt-2", "default"...
  std::vector<std::string> tokens;
  std::vector<float> scores;         // may be empty (SentencePiece merges need them)
  std::vector<int32_t> token_types;  // TokenType per token; empty means all normal
  std::vector<std::string> merges;   // "a b" strings, rank = index (gpt2 models)
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, eot_id = -1;
  bool add_bos = false, add_eos = false, add_space_prefix = false;
};

// llama.cpp's defaults for the flags when the GGUF lacks the key
// (tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix):
//   "llama" (SPM): add_bos = true, add_eos = false, add_space_prefix = true
//   "gpt2" with pre llama3/llama-v3/llama-bpe/falcon3/pixtral/tekken/chameleon: add_bos = true
//   every other gpt2 pre: add_bos = false; add_eos = false; add_space_prefix = false
// The glue calls this when a key is absent, so Loom and llama.cpp agree.
struct VocabFlagDefaults {
  bool add_bos, add_eos, add_space_prefix;
};
VocabFlagDefaults llama_cpp_flag_defaults(std::string_view model, std::string_view pre);

}  // namespace loom
