// Code point decoding and character classes as llama.cpp's tokenizer sees them.
// Categories come from ICU (libicu-dev), not hand-written tables.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::unicode {

// Class bits of one code point (llama.cpp's unicode_cpt_flags, reduced to what
// the pre-tokenizers read).
enum CptClass : uint8_t {
  kLetter = 1,      // \p{L}
  kNumber = 2,      // \p{N}
  kWhitespace = 4,  // \s: the Unicode White_Space property
};

// Class bits of cpt (ASCII from a table, the rest from ICU).
uint8_t cpt_class(uint32_t cpt);

// Appends cpt as UTF-8; code points past U+10FFFF become U+FFFD.
void append_utf8(uint32_t cpt, std::string& out);

// Decodes bytes the way llama.cpp's tokenizer does: a byte that does not start
// a structurally complete sequence (lead byte + continuation bytes) becomes one
// U+FFFD and decoding resumes at the next byte. Overlong forms and surrogates
// pass through like in llama.cpp. `cpts` gets one code point per character.
void decode_lenient(std::string_view bytes, std::vector<uint32_t>& cpts);

// Strict UTF-8 with U+FFFD for every maximal invalid subpart (the WHATWG /
// Python errors="replace" rule). When `final` is false, an incomplete but so
// far valid sequence at the end is left unconsumed. Returns bytes consumed.
size_t append_valid_utf8(std::string_view in, bool final, std::string& out);

// True when s is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

// GPT-2's byte-level alphabet: byte b <-> one printable code point.
uint32_t byte_to_cpt(uint8_t b);
// Inverse of byte_to_cpt; -1 when cpt is not in the alphabet.
int byte_from_cpt(uint32_t cpt);

}  // namespace loom::unicode
