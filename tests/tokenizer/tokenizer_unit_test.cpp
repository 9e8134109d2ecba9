// Model-free checks: UTF-8 handling, the incremental detokenizer on emoji split
// into byte tokens, and precise errors on bad vocabularies.
#include <gtest/gtest.h>

#include <random>

#include "backends/common/tokenizer/detokenizer.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "backends/common/tokenizer/unicode_text.h"

namespace loom {
namespace {

// A byte-level vocabulary holding only the 256 alphabet characters plus specials.
VocabData byte_vocab() {
  VocabData v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  for (int b = 0; b < 256; ++b) {
    std::string s;
    unicode::append_utf8(unicode::byte_to_cpt(static_cast<uint8_t>(b)), s);
    v.tokens.push_back(s);
  }
  v.tokens.push_back("<|im_end|>");
  v.token_types.assign(256, kTokenNormal);
  v.token_types.push_back(kTokenControl);
  v.eos_id = 256;
  return v;
}

TEST(Unicode, ReplacementFollowsMaximalSubparts) {
  // Expected strings from Python: bytes.decode("utf-8", "replace").
  std::string out;
  unicode::append_valid_utf8("a\xF0\x9F\x98" "b", true, out);
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b");
  out.clear();
  unicode::append_valid_utf8("\xED\xA0\x80", true, out);  // surrogate: 3 replacements
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  EXPECT_EQ(unicode::append_valid_utf8("ok\xE2\x82", false, out), 2u);  // incomplete tail held
  EXPECT_EQ(out, "ok");
}

TEST(IncrementalDetokenizer, EmojiSplitAcrossByteTokensIsHeldBack) {
  const auto tok = Tokenizer::create(byte_vocab());
  const std::string emoji = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9";  // man ZWJ woman
  IncrementalDetokenizer d(*tok);
  std::string all;
  for (unsigned char c : emoji) {
    const std::string chunk = d.push(c);
    EXPECT_TRUE(unicode::is_valid_utf8(chunk));
    all += chunk;
  }
  EXPECT_EQ(all + d.flush(), emoji);
  EXPECT_EQ(d.push(0xF0), "");  // an unfinished character at the end becomes U+FFFD
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(256), "<|im_end|>");
  IncrementalDetokenizer quiet(*tok, /*render_special=*/false);
  EXPECT_EQ(quiet.push(256), "");
}

TEST(Tokenizer, EncodesBytesWithoutMerges) {
  const auto tok = Tokenizer::create(byte_vocab());
  EXPECT_EQ(tok->encode("hi", false, false), (std::vector<int32_t>{'h', 'i'}));
  EXPECT_EQ(tok->encode("<|im_end|>", false, true), (std::vector<int32_t>{256}));
  EXPECT_EQ(tok->encode("<|im_end|>", false, false).size(), 10u);
  EXPECT_TRUE(tok->is_eog(256));
}

TEST(Tokenizer, RejectsBadVocabularies) {
  VocabData v = byte_vocab();
  v.pre = "no-such-pre";
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  v = byte_vocab();
  v.model = "bert";
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  v = byte_vocab();
  v.eos_id = 100000;
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  v = byte_vocab();
  v.token_types.pop_back();
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  v = byte_vocab();
  v.merges = {"nospace"};
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  v = byte_vocab();
  v.tokens[5] = v.tokens[6];
  EXPECT_THROW(Tokenizer::create(v), TokenizerError);
  const auto tok = Tokenizer::create(byte_vocab());
  EXPECT_THROW(tok->token_to_piece(-1), TokenizerError);
  const int32_t bad[] = {1000};
  EXPECT_THROW(tok->decode(bad), TokenizerError);
}

// Any bytes, every pre-tokenizer: no crash, and with a bytes-only vocabulary
// decode(encode(s)) is s with invalid sequences read as U+FFFD (llama.cpp's rule).
TEST(Tokenizer, RandomBytesRoundTripThroughEveryPreTokenizer) {
  std::mt19937 rng(7);
  const char alphabet[] = "ab 1\n\t'.\xC3\xA9\xE4\xBD\xA0\xF0\x9F\x98\x80\xFF\x80";
  for (const char* pre : {"gpt-2", "smollm", "llama3", "qwen2", "default"}) {
    VocabData v = byte_vocab();
    v.pre = pre;
    const auto tok = Tokenizer::create(v);
    for (int iter = 0; iter < 300; ++iter) {
      std::string s;
      const int len = static_cast<int>(rng() % 40);
      for (int i = 0; i < len; ++i) s += alphabet[rng() % (sizeof(alphabet) - 1)];
      std::vector<uint32_t> cpts;
      unicode::decode_lenient(s, cpts);
      std::string expected;
      for (uint32_t c : cpts) unicode::append_utf8(c, expected);
      EXPECT_EQ(tok->decode(tok->encode(s, true, true)), expected) << pre;
    }
  }
}

}  // namespace
}  // namespace loom
