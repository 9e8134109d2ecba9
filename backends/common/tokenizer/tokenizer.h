// Text <-> token ids, reproducing llama.cpp's tokenizer for byte-level BPE
// ("gpt2" vocabularies with the smollm, gpt-2, llama3, qwen2 and default
// pre-tokenizers) and SentencePiece BPE ("llama" vocabularies).
//
// Thread safety: a Tokenizer is immutable after create(); encode/decode may run
// on many threads at once.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "backends/common/tokenizer/pretokenizer.h"
#include "backends/common/tokenizer/vocab_data.h"

namespace loom {

class TokenizerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Hash that lets std::string-keyed maps be probed with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Tokenizer {
 public:
  // Validates the data (ids in range, sizes consistent, known model/pre);
  // throws TokenizerError naming what is wrong.
  static std::unique_ptr<Tokenizer> create(VocabData data);

  // add_special: prepend BOS / append EOS when the vocabulary asks for it
  // (VocabData::add_bos / add_eos). parse_special: text like "<|im_start|>"
  // becomes its control token; otherwise it is tokenized as plain text.
  // Any bytes are accepted: invalid UTF-8 is tokenized as U+FFFD, like llama.cpp.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The raw bytes of a token (byte-level alphabet undone, "▁" -> " ", <0xXX>
  // -> that byte). Control/unknown tokens give their text when render_special,
  // else "". Out-of-range ids throw TokenizerError.
  std::string token_to_piece(int32_t id, bool render_special = true) const;

  // Concatenated pieces (llama.cpp's token_to_piece per token; no space
  // clean-up). May end inside a UTF-8 sequence: see IncrementalDetokenizer.
  std::string decode(std::span<const int32_t> ids, bool render_special = true) const;

  bool is_eog(int32_t id) const;  // end of generation: eos, eot, <|im_end|>, <|eot_id|>...
  int32_t n_vocab() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  int32_t eot_id() const { return eot_id_; }
  bool add_bos() const { return add_bos_; }
  const std::string& token_text(int32_t id) const;  // as stored in the vocabulary
  int32_t find_token(std::string_view text) const;  // -1 when absent
  std::span<const int32_t> eog_ids() const { return eog_ids_; }

 private:
  Tokenizer() = default;
  void init_bpe(std::vector<std::string>& merges);
  void init_special();
  void init_pieces();

  // Splits text on special tokens: appends ids for specials and calls
  // encode_text for the plain fragments between them.
  void encode_fragments(std::string_view text, bool parse_special, std::vector<int32_t>& out) const;
  void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const;
  void encode_bpe(std::string_view text, std::vector<int32_t>& out) const;
  void bpe_word(std::string_view word_utf8, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, std::vector<int32_t>& out) const;
  int32_t spm_byte_token(uint8_t byte) const;

  bool is_spm_ = false;
  PreTokenizer pre_ = PreTokenizer::kDefault;
  bool ignore_merges_ = false;  // llama3: a word that is a whole token skips merging
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<int32_t> types_;
  std::vector<std::string> pieces_;  // decoded bytes per token
  TokenIdMap token_to_id_;
  // (left id << 32 | right id) -> (rank << 32 | merged id)
  std::unordered_map<uint64_t, uint64_t> merges_;
  int32_t byte_token_[256];             // byte-level alphabet char / <0xXX> token per byte, -1 if absent
  std::vector<int32_t> special_ids_;    // control/user-defined/unknown, longest text first
  std::vector<int32_t> eog_ids_;
  int32_t bos_id_ = -1, eos_id_ = -1, unk_id_ = -1, eot_id_ = -1;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
};

}  // namespace loom
