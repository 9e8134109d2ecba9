#include "backends/common/tokenizer/pretokenizer.h"

#include <unicode/uchar.h>

#include <array>

#include "backends/common/tokenizer/unicode_text.h"

namespace loom {
namespace {

using unicode::kLetter;
using unicode::kNumber;
using unicode::kWhitespace;

// A half-open code point range being split. Reads past [b, e) see "nothing":
// class 0 and no character, like llama.cpp's _get_flags/_get_cpt out of range.
struct Segment {
  std::span<const uint32_t> cpts;
  std::span<const uint8_t> cls;
  size_t b, e;
  std::vector<uint32_t>* out;
  size_t prev_end;

  bool in(size_t p) const { return p >= b && p < e; }
  uint32_t cpt(size_t p) const { return in(p) ? cpts[p] : 0xFFFFFFFF; }
  uint8_t cl(size_t p) const { return in(p) ? cls[p] : 0; }
  bool letter(size_t p) const { return cl(p) & kLetter; }
  bool number(size_t p) const { return cl(p) & kNumber; }
  bool space(size_t p) const { return cl(p) & kWhitespace; }
  // [^\s\p{L}\p{N}] and inside the segment.
  bool other(size_t p) const { return in(p) && !(cls[p] & (kLetter | kNumber | kWhitespace)); }
  void emit(size_t end) {
    if (end > prev_end) out->push_back(static_cast<uint32_t>(end - prev_end));
    prev_end = end;
  }
};

uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Length of a contraction ('s 't 're 've 'm 'll 'd) at pos, 0 if none.
size_t contraction(const Segment& s, size_t pos, bool any_case) {
  if (s.cpt(pos) != '\'' || pos + 1 >= s.e) return 0;
  const auto low = [&](size_t p) { return any_case ? ascii_lower(s.cpt(p)) : s.cpt(p); };
  const uint32_t a = low(pos + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (pos + 2 >= s.e) return 0;
  const uint32_t b = low(pos + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// Trailing whitespace handling shared by all families: \s+(?!\S) leaves the
// last space to start the next word when something follows; else \s+.
bool split_whitespace_run(Segment& s, size_t& pos) {
  size_t n = 0;
  while (s.space(pos + n)) ++n;
  if (n > 1 && s.in(pos + n)) {
    pos += n - 1;
  } else if (n > 0) {
    pos += n;
  } else {
    return false;
  }
  s.emit(pos);
  return true;
}

void split_gpt2(Segment s) {
  size_t pos = s.b;
  while (pos < s.e) {
    if (size_t n = contraction(s, pos, false)) {
      pos += n;
      s.emit(pos);
      continue;
    }
    const bool sp = s.cpt(pos) == ' ';
    const size_t q = pos + (sp ? 1 : 0);  // first char after an optional space
    if (s.letter(q) || s.number(q) || s.other(q)) {
      const auto same = s.letter(q)   ? &Segment::letter
                        : s.number(q) ? &Segment::number
                                      : &Segment::other;
      pos = q;
      while ((s.*same)(pos)) ++pos;
      s.emit(pos);
      continue;
    }
    if (split_whitespace_run(s, pos)) continue;
    s.emit(++pos);
  }
}

// llama3 (max_digits 3) and qwen2 (max_digits 1).
void split_llama3(Segment s, size_t max_digits) {
  size_t pos = s.b;
  while (pos < s.e) {
    if (size_t n = contraction(s, pos, true)) {
      pos += n;
      s.emit(pos);
      continue;
    }
    const uint32_t c = s.cpt(pos);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (c != '\r' && c != '\n' && !s.number(pos) && (s.letter(pos) || s.letter(pos + 1))) {
      ++pos;
      while (s.letter(pos)) ++pos;
      s.emit(pos);
      continue;
    }
    // \p{N}{1,max_digits}
    if (s.number(pos)) {
      size_t n = 0;
      while (n < max_digits && s.number(pos)) ++pos, ++n;
      s.emit(pos);
      continue;
    }
    // ' '?[^\s\p{L}\p{N}]+[\r\n]*  (a lone trailing ' ' also lands here)
    const size_t q = pos + (c == ' ' ? 1 : 0);
    if (s.other(q) || (c == ' ' && !s.in(q))) {
      pos = q;
      while (s.other(pos)) ++pos;
      while (s.cpt(pos) == '\r' || s.cpt(pos) == '\n') ++pos;
      s.emit(pos);
      continue;
    }
    // \s*[\r\n]+ : through the last newline of the whitespace run
    size_t n = 0, last_nl = 0;
    while (s.space(pos + n)) {
      const uint32_t w = s.cpt(pos + n);
      ++n;
      if (w == '\r' || w == '\n') last_nl = n;
    }
    if (last_nl > 0) {
      pos += last_nl;
      s.emit(pos);
      continue;
    }
    if (split_whitespace_run(s, pos)) continue;
    s.emit(++pos);
  }
}

// One regex pass over every current piece: matches (from `match`, which
// returns the match length at p or 0) and the gaps between them become pieces.
using MatchFn = size_t (*)(std::span<const uint32_t> cpts, size_t p, size_t e);

void isolate_matches(std::span<const uint32_t> cpts, MatchFn match, std::vector<uint32_t>& pieces) {
  std::vector<uint32_t> out;
  out.reserve(pieces.size());
  size_t b = 0;
  for (uint32_t len : pieces) {
    const size_t e = b + len;
    size_t gap = b;
    for (size_t p = b; p < e;) {
      const size_t m = match(cpts, p, e);
      if (m == 0) {
        ++p;
        continue;
      }
      if (p > gap) out.push_back(static_cast<uint32_t>(p - gap));
      out.push_back(static_cast<uint32_t>(m));
      p += m;
      gap = p;
    }
    if (e > gap) out.push_back(static_cast<uint32_t>(e - gap));
    b = e;
  }
  pieces.swap(out);
}

bool is_default_punct(uint32_t c) {
  // llama.cpp's collapsed [\p{P}\$\+<=>\^~\|]: its ASCII \p{P} list plus $+<=>^~|
  static constexpr std::string_view kAscii = "!\"#%&'()*,-./:;?@[\\]_{}$+<=>^~|";
  if (c < 128) return kAscii.find(static_cast<char>(c)) != std::string_view::npos;
  return c <= 0x10FFFF && (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK);
}

size_t match_punct_run(std::span<const uint32_t> cpts, size_t p, size_t e) {
  size_t q = p;
  while (q < e && is_default_punct(cpts[q])) ++q;
  return q - p;
}

size_t match_number_run(std::span<const uint32_t> cpts, size_t p, size_t e) {
  size_t q = p;
  while (q < e && (unicode::cpt_class(cpts[q]) & kNumber)) ++q;
  return q - p;
}

size_t match_three_digits(std::span<const uint32_t> cpts, size_t p, size_t e) {
  if (p + 3 > e) return 0;
  for (size_t k = 0; k < 3; ++k)
    if (cpts[p + k] < '0' || cpts[p + k] > '9') return 0;
  return 3;
}

void split_default(std::span<const uint32_t> cpts, std::span<const uint8_t> cls,
                   std::vector<uint32_t>& lengths) {
  std::vector<uint32_t> pieces{static_cast<uint32_t>(cpts.size())};
  isolate_matches(cpts, match_punct_run, pieces);
  std::vector<uint32_t> words;
  size_t b = 0;
  for (uint32_t len : pieces) {
    split_gpt2(Segment{cpts, cls, b, b + len, &words, b});
    b += len;
  }
  isolate_matches(cpts, match_number_run, words);
  isolate_matches(cpts, match_three_digits, words);
  lengths.insert(lengths.end(), words.begin(), words.end());
}

// \p{N} isolated one code point at a time, the rest split by gpt2.
void split_smollm(std::span<const uint32_t> cpts, std::span<const uint8_t> cls,
                  std::vector<uint32_t>& lengths) {
  size_t b = 0;
  for (size_t i = 0; i <= cpts.size(); ++i) {
    if (i < cpts.size() && !(cls[i] & kNumber)) continue;
    if (i > b) split_gpt2(Segment{cpts, cls, b, i, &lengths, b});
    if (i < cpts.size()) lengths.push_back(1);
    b = i + 1;
  }
}

}  // namespace

bool pre_tokenizer_from_name(std::string_view pre, PreTokenizer& out) {
  struct Entry {
    std::string_view name;
    PreTokenizer kind;
  };
  static constexpr std::array<Entry, 23> kNames{{
      {"", PreTokenizer::kDefault},           {"default", PreTokenizer::kDefault},   {"llama3", PreTokenizer::kLlama3},
      {"llama-v3", PreTokenizer::kLlama3},   {"llama-bpe", PreTokenizer::kLlama3},
      {"falcon3", PreTokenizer::kLlama3},    {"pixtral", PreTokenizer::kLlama3},
      {"dbrx", PreTokenizer::kLlama3},       {"smaug-bpe", PreTokenizer::kLlama3},
      {"smollm", PreTokenizer::kSmollm},     {"starcoder", PreTokenizer::kSmollm},
      {"refact", PreTokenizer::kSmollm},     {"command-r", PreTokenizer::kSmollm},
      {"codeshell", PreTokenizer::kSmollm},  {"exaone", PreTokenizer::kSmollm},
      {"gpt-2", PreTokenizer::kGpt2},        {"gpt2", PreTokenizer::kGpt2},
      {"phi-2", PreTokenizer::kGpt2},        {"mpt", PreTokenizer::kGpt2},
      {"olmo", PreTokenizer::kGpt2},         {"qwen2", PreTokenizer::kQwen2},
      {"stablelm2", PreTokenizer::kQwen2},   {"deepseek-r1-qwen", PreTokenizer::kQwen2},
  }};
  for (const auto& e : kNames) {
    if (e.name == pre) {
      out = e.kind;
      return true;
    }
  }
  return false;
}

void pre_tokenize(PreTokenizer kind, std::span<const uint32_t> cpts,
                  std::span<const uint8_t> classes, std::vector<uint32_t>& lengths) {
  const size_t n = cpts.size();
  switch (kind) {
    case PreTokenizer::kGpt2:
      split_gpt2(Segment{cpts, classes, 0, n, &lengths, 0});
      break;
    case PreTokenizer::kSmollm:
      split_smollm(cpts, classes, lengths);
      break;
    case PreTokenizer::kLlama3:
      split_llama3(Segment{cpts, classes, 0, n, &lengths, 0}, 3);
      break;
    case PreTokenizer::kQwen2:
      split_llama3(Segment{cpts, classes, 0, n, &lengths, 0}, 1);
      break;
    case PreTokenizer::kDefault:
      split_default(cpts, classes, lengths);
      break;
  }
}

}  // namespace loom
