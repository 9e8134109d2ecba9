#include "backends/common/tokenizer/unicode_text.h"

#include <unicode/uchar.h>

#include <array>

namespace loom::unicode {
namespace {

std::array<uint8_t, 128> make_ascii_classes() {
  std::array<uint8_t, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] = kLetter;
    if (c >= '0' && c <= '9') t[c] = kNumber;
    if (c == ' ' || (c >= '\t' && c <= '\r')) t[c] = kWhitespace;
  }
  return t;
}

const std::array<uint8_t, 128> kAsciiClasses = make_ascii_classes();

// GPT-2 bytes_to_unicode(): printable Latin-1 bytes map to themselves, the 68
// others to U+0100.. in byte order.
struct ByteAlphabet {
  std::array<uint32_t, 256> to_cpt{};
  std::array<int16_t, 324> from_cpt{};  // indexed by cpt < 324
  ByteAlphabet() {
    from_cpt.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      to_cpt[b] = printable ? b : next++;
      from_cpt[to_cpt[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteAlphabet kBytes;

// Length of the sequence a lead byte announces in llama.cpp's decoder, 0 if
// the byte can never start one.
int lenient_length(uint8_t b) {
  if (b < 0x80) return 1;
  if (!(b & 0x40)) return 0;  // continuation byte
  if (!(b & 0x20)) return 2;
  if (!(b & 0x10)) return 3;
  if (!(b & 0x08)) return 4;
  return 0;
}

bool is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

// Valid range of the second byte of a strict sequence starting with lead.
void second_byte_range(uint8_t lead, uint8_t& lo, uint8_t& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
}

int strict_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

uint8_t cpt_class(uint32_t cpt) {
  if (cpt < 128) return kAsciiClasses[cpt];
  if (cpt > 0x10FFFF) return 0;
  const auto c = static_cast<UChar32>(cpt);
  const uint32_t mask = U_GET_GC_MASK(c);
  uint8_t bits = 0;
  if (mask & U_GC_L_MASK) bits |= kLetter;
  if (mask & U_GC_N_MASK) bits |= kNumber;
  if (u_isUWhiteSpace(c)) bits |= kWhitespace;
  return bits;
}

void append_utf8(uint32_t cpt, std::string& out) {
  if (cpt > 0x10FFFF) cpt = 0xFFFD;
  if (cpt < 0x80) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  }
}

void decode_lenient(std::string_view s, std::vector<uint32_t>& cpts) {
  cpts.clear();
  cpts.reserve(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    const int len = lenient_length(b);
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) ok = is_cont(p[i + k]);
    if (!ok) {
      cpts.push_back(0xFFFD);
      ++i;
      continue;
    }
    uint32_t cpt = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < len; ++k) cpt = (cpt << 6) | (p[i + k] & 0x3F);
    cpts.push_back(cpt);
    i += len;
  }
}

size_t append_valid_utf8(std::string_view in, bool final, std::string& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t lead = p[i];
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++i;
      continue;
    }
    const int len = strict_length(lead);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    // Length of the valid prefix starting at i (the maximal subpart).
    int good = 1;
    uint8_t lo, hi;
    second_byte_range(lead, lo, hi);
    while (good < len && i + good < n) {
      const uint8_t c = p[i + good];
      const bool in_range = good == 1 ? (c >= lo && c <= hi) : is_cont(c);
      if (!in_range) break;
      ++good;
    }
    if (good == len) {
      out.append(in.substr(i, len));
      i += len;
    } else if (i + good == n && !final) {
      return i;  // incomplete tail: wait for more bytes
    } else {
      out += "\xEF\xBF\xBD";
      i += good;
    }
  }
  return n;
}

bool is_valid_utf8(std::string_view s) {
  std::string tmp;
  tmp.reserve(s.size());
  append_valid_utf8(s, true, tmp);
  return tmp == s;
}

uint32_t byte_to_cpt(uint8_t b) { return kBytes.to_cpt[b]; }

int byte_from_cpt(uint32_t cpt) { return cpt < kBytes.from_cpt.size() ? kBytes.from_cpt[cpt] : -1; }

}  // namespace loom::unicode
