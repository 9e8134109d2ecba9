#include "backends/common/tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <bitset>

#include "backends/common/tokenizer/unicode_text.h"

namespace loom {
namespace {

// Token texts llama.cpp treats as end-of-generation (and marks as control).
constexpr std::array<std::string_view, 22> kEogNames = {
    "<|eot_id|>",      "<|im_end|>",         "<|end|>",          "<|return|>",    "<|call|>",
    "<|flush|>",       "<|calls|>",          "<end_of_turn>",    "<|endoftext|>", "</s>",
    "<|eom_id|>",      "<EOT>",              "_<EOT>",           "[EOT]",         "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>",            "<turn|>",       "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[",
};

bool is_eog_name(std::string_view s) {
  return std::find(kEogNames.begin(), kEogNames.end(), s) != kEogNames.end();
}

void check_id(int32_t id, size_t n, const char* what) {
  if (id < -1 || id >= static_cast<int64_t>(n))
    throw TokenizerError(std::string("tokenizer: ") + what + " " + std::to_string(id) +
                         " is outside the vocabulary of " + std::to_string(n) + " tokens");
}

// "<0xAB>" -> 0xAB, -1 if the text is not a byte token.
int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  int v = 0;
  for (char c : t.substr(3, 2)) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

// Byte-level BPE token text -> raw bytes (each alphabet char is one byte).
std::string byte_level_decode(std::string_view text) {
  std::vector<uint32_t> cpts;
  unicode::decode_lenient(text, cpts);
  std::string out;
  for (uint32_t c : cpts) {
    const int b = unicode::byte_from_cpt(c);
    if (b >= 0) out.push_back(static_cast<char>(b));
    else unicode::append_utf8(c, out);  // not in the alphabet: keep as is
  }
  return out;
}

// Linear: SentencePiece text may be one long fragment with many spaces.
std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t start = 0;
  for (size_t p = s.find(from); p != std::string_view::npos; p = s.find(from, start)) {
    out.append(s, start, p - start).append(to);
    start = p + from.size();
  }
  return out.append(s, start);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::create(VocabData d) {
  std::unique_ptr<Tokenizer> t(new Tokenizer());
  if (d.model == "llama") {
    t->is_spm_ = true;
  } else if (d.model == "gpt2") {
    if (!pre_tokenizer_from_name(d.pre, t->pre_))
      throw TokenizerError("tokenizer: unsupported pre-tokenizer '" + d.pre +
                           "' (supported: smollm, gpt-2, llama3/llama-bpe, qwen2, default and aliases)");
    t->ignore_merges_ = t->pre_ == PreTokenizer::kLlama3;
  } else {
    throw TokenizerError("tokenizer: unsupported tokenizer model '" + d.model +
                         "' (supported: gpt2 byte-level BPE, llama SentencePiece)");
  }
  const size_t n = d.tokens.size();
  if (n == 0) throw TokenizerError("tokenizer: empty vocabulary");
  if (!d.scores.empty() && d.scores.size() != n)
    throw TokenizerError("tokenizer: " + std::to_string(d.scores.size()) + " scores for " +
                         std::to_string(n) + " tokens");
  if (!d.token_types.empty() && d.token_types.size() != n)
    throw TokenizerError("tokenizer: " + std::to_string(d.token_types.size()) +
                         " token types for " + std::to_string(n) + " tokens");
  check_id(d.bos_id, n, "bos_id");
  check_id(d.eos_id, n, "eos_id");
  check_id(d.unk_id, n, "unk_id");
  check_id(d.pad_id, n, "pad_id");
  check_id(d.eot_id, n, "eot_id");
  if (d.add_bos && d.bos_id < 0) throw TokenizerError("tokenizer: add_bos is set but bos_id is missing");
  if (d.add_eos && d.eos_id < 0) throw TokenizerError("tokenizer: add_eos is set but eos_id is missing");

  t->tokens_ = std::move(d.tokens);
  t->scores_ = d.scores.empty() ? std::vector<float>(n, 0.0f) : std::move(d.scores);
  t->types_ = d.token_types.empty() ? std::vector<int32_t>(n, kTokenNormal) : std::move(d.token_types);
  t->bos_id_ = d.bos_id;
  t->eos_id_ = d.eos_id;
  t->unk_id_ = d.unk_id;
  t->eot_id_ = d.eot_id;
  t->add_bos_ = d.add_bos;
  t->add_eos_ = d.add_eos;
  t->add_space_prefix_ = t->is_spm_ && d.add_space_prefix;
  t->token_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string& tok = t->tokens_[i];
    // llama.cpp reads token texts as C strings: a NUL ends the text.
    if (const size_t nul = tok.find('\0'); nul != std::string::npos) tok.resize(nul);
    if (tok.empty()) tok = "[EMPTY_" + std::to_string(i) + "]";  // as llama.cpp does
    if (!t->token_to_id_.emplace(tok, static_cast<int32_t>(i)).second)
      throw TokenizerError("tokenizer: token " + std::to_string(i) + " '" + tok +
                           "' duplicates token " + std::to_string(t->token_to_id_.at(tok)));
  }
  t->init_bpe(d.merges);
  t->init_special();
  t->init_pieces();
  return t;
}

void Tokenizer::init_bpe(std::vector<std::string>& merges) {
  for (int b = 0; b < 256; ++b) {
    std::string key;
    if (is_spm_) {
      static const char* hex = "0123456789ABCDEF";
      key = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
    } else {
      unicode::append_utf8(unicode::byte_to_cpt(static_cast<uint8_t>(b)), key);
    }
    byte_token_[b] = find_token(key);
  }
  if (is_spm_) return;
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& m = merges[rank];
    // Split at the first space after position 0 (a part may itself be " ").
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos)
      throw TokenizerError("tokenizer: merge " + std::to_string(rank) + " '" + m + "' has no space");
    const std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    const int32_t l = find_token(left), r = find_token(right);
    const int32_t merged = find_token(m.substr(0, sp) + std::string(right));
    // A merge whose parts or result are not tokens can never fire usefully.
    if (l < 0 || r < 0 || merged < 0) continue;
    const uint64_t key = (uint64_t(uint32_t(l)) << 32) | uint32_t(r);
    merges_.emplace(key, (uint64_t(rank) << 32) | uint32_t(merged));  // first (lowest) rank wins
  }
  merges.clear();
}

void Tokenizer::init_special() {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (!is_eog_name(tokens_[i])) continue;
    // llama.cpp adds the control flag to these, whatever their type: a
    // user-defined one (Gemma 3's "</s>") then acts as control too (kept as
    // text without parse_special, hidden without render_special).
    types_[i] = kTokenControl;
    eog_ids_.push_back(static_cast<int32_t>(i));
  }
  if (eot_id_ < 0) {  // llama.cpp picks its EOT by name when the key is absent
    for (std::string_view name : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                  "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                  "<end_of_utterance>"}) {
      if (int32_t id = find_token(name); id >= 0) {
        eot_id_ = id;
        break;
      }
    }
  }
  for (int32_t id : {eos_id_, eot_id_})
    if (id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) == eog_ids_.end()) eog_ids_.push_back(id);
  // llama.cpp's two exceptions, decided on the whole end-of-generation set.
  const auto eog_with = [&](std::string_view name) {
    const int32_t id = find_token(name);
    return id >= 0 && std::find(eog_ids_.begin(), eog_ids_.end(), id) != eog_ids_.end() ? id : -1;
  };
  const auto drop_eog = [&](int32_t id, int32_t type) {
    eog_ids_.erase(std::find(eog_ids_.begin(), eog_ids_.end(), id));
    types_[id] = type;
  };
  // gpt-oss / solar-open: "<|end|>" ends a message, not the generation.
  const bool call = eog_with("<|call|>") >= 0 || eog_with("<|calls|>") >= 0;
  if (const int32_t end = eog_with("<|end|>");
      end >= 0 && call && (eog_with("<|return|>") >= 0 || eog_with("<|flush|>") >= 0))
    drop_eog(end, kTokenUserDefined);
  // gemma4 / plamo: "</s>" is a normal token there.
  if (const int32_t s = eog_with("</s>");
      s >= 0 && (eog_with("<|tool_response>") >= 0 || eog_with("<|plamo:eos|>") >= 0))
    drop_eog(s, kTokenNormal);
  std::sort(eog_ids_.begin(), eog_ids_.end());

  for (size_t i = 0; i < tokens_.size(); ++i) {
    const int32_t ty = types_[i];
    if (ty == kTokenControl || ty == kTokenUserDefined || ty == kTokenUnknown)
      special_ids_.push_back(static_cast<int32_t>(i));
  }
  std::stable_sort(special_ids_.begin(), special_ids_.end(), [&](int32_t a, int32_t b) {
    return tokens_[a].size() > tokens_[b].size();
  });
}

void Tokenizer::init_pieces() {
  pieces_.resize(tokens_.size());
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const std::string& text = tokens_[i];
    switch (types_[i]) {
      case kTokenControl:
      case kTokenUnknown:
      case kTokenUserDefined:
        pieces_[i] = text;
        break;
      case kTokenNormal:
        pieces_[i] = is_spm_ ? replace_all(text, "\xE2\x96\x81", " ") : byte_level_decode(text);
        break;
      case kTokenByte: {
        const int b = parse_byte_token(text);
        if (b >= 0) pieces_[i] = std::string(1, static_cast<char>(b));
        break;
      }
      default:  // unused / undefined tokens print nothing, as in llama.cpp
        break;
    }
  }
}

int32_t Tokenizer::find_token(std::string_view text) const {
  const auto it = token_to_id_.find(text);
  return it == token_to_id_.end() ? -1 : it->second;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= n_vocab())
    throw TokenizerError("tokenizer: token id " + std::to_string(id) + " is outside the vocabulary of " +
                         std::to_string(n_vocab()) + " tokens");
  return tokens_[id];
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(eog_ids_.begin(), eog_ids_.end(), id);
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  token_text(id);  // range check
  const int32_t ty = types_[id];
  if (!render_special && (ty == kTokenControl || ty == kTokenUnknown)) return {};
  return pieces_[id];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    token_text(id);
    const int32_t ty = types_[id];
    if (!render_special && (ty == kTokenControl || ty == kTokenUnknown)) continue;
    out += pieces_[id];
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_special && add_bos_) out.push_back(bos_id_);
  encode_fragments(text, parse_special, out);
  if (add_special && add_eos_) out.push_back(eos_id_);
  return out;
}

void Tokenizer::encode_fragments(std::string_view text, bool parse_special, std::vector<int32_t>& out) const {
  // Fragments in text order; token < 0 marks plain text [offset, offset+length).
  struct Fragment {
    size_t offset, length;
    int32_t token;
  };
  std::vector<Fragment> frags;
  if (!text.empty()) frags.push_back({0, text.size(), -1});
  // Like llama.cpp: each special token in turn (longest first) cuts every plain
  // fragment at all of its occurrences.
  // A special token can only occur where its first two bytes do: one pass
  // marks the byte pairs present, so most of a large special set (Gemma 3's
  // 6000+ <unusedN>) is skipped without searching the text.
  std::bitset<256> bytes;
  std::bitset<65536> pairs;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<uint8_t>(text[i]);
    bytes.set(b);
    if (i + 1 < text.size()) pairs.set(b << 8 | static_cast<uint8_t>(text[i + 1]));
  }
  for (int32_t id : special_ids_) {
    const int32_t ty = types_[id];
    if (!parse_special && (ty == kTokenControl || ty == kTokenUnknown)) continue;
    const std::string& sp = tokens_[id];
    const auto b0 = static_cast<uint8_t>(sp[0]);
    if (sp.size() == 1 ? !bytes.test(b0) : !pairs.test(b0 << 8 | static_cast<uint8_t>(sp[1]))) continue;
    std::vector<Fragment> next;
    next.reserve(frags.size());
    for (const Fragment& f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const std::string_view s = text.substr(f.offset, f.length);
      size_t start = 0;
      for (size_t m = s.find(sp); m != std::string_view::npos; m = s.find(sp, start)) {
        if (m > start) next.push_back({f.offset + start, m - start, -1});
        next.push_back({f.offset + m, sp.size(), id});
        start = m + sp.size();
      }
      if (start < s.size()) next.push_back({f.offset + start, s.size() - start, -1});
    }
    frags.swap(next);
  }
  bool after_special = true;  // SentencePiece adds its space prefix after specials / at start
  for (const Fragment& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
}

void Tokenizer::encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
  if (!is_spm_) {
    encode_bpe(text, out);
    return;
  }
  std::string s;
  if (add_space_prefix_ && after_special) s = " ";
  s += text;
  encode_spm(replace_all(s, " ", "\xE2\x96\x81"), out);
}

}  // namespace loom
