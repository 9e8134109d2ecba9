// Exact agreement with llama.cpp on the real SmolLM2 vocabulary (and the same
// vocabulary under other pre-tokenizers). Needs the model: label `model`.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/common/tokenizer/detokenizer.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "backends/common/tokenizer/unicode_text.h"
#include "tests/tokenizer/fixture_cases.h"

namespace loom {
namespace {

VocabData model_vocab() {
  const std::string path = test::model_path();
  if (!std::filesystem::exists(path))
    throw std::runtime_error("model not found at " + path +
                             " (run scripts/fetch_model.sh or set LOOM_TEST_MODEL)");
  return test::load_vocab_from_gguf(path);
}

const VocabData& cached_vocab() {
  static const VocabData v = model_vocab();
  return v;
}

void check_cases(const Tokenizer& tok, const std::vector<test::RefCase>& cases, const std::string& label) {
  for (const auto& c : cases) {
    for (int b = 0; b < 2; ++b) {
      for (int s = 0; s < 2; ++s) {
        EXPECT_EQ(tok.encode(c.bytes, b, s), c.ids[b][s])
            << label << " case '" << c.name << "' add_special=" << b << " parse_special=" << s;
      }
    }
    EXPECT_EQ(tok.decode(c.ids[1][1]), c.decoded) << label << " decode of '" << c.name << "'";
    EXPECT_EQ(tok.decode(c.ids[1][1], false), c.decoded_nospecial) << label << " '" << c.name << "'";
  }
}

TEST(TokenizerLlamaCpp, SmolLM2MatchesLlamaCppExactly) {
  const auto j = test::read_json("tokenizer/smollm2_tokens.json");
  ASSERT_EQ(j.at("pre"), "smollm");
  const auto cases = test::parse_cases(j.at("cases"));
  ASSERT_GE(cases.size(), 40u);
  const auto tok = Tokenizer::create(cached_vocab());
  check_cases(*tok, cases, "smollm");
}

TEST(TokenizerLlamaCpp, OtherPreTokenizersMatchLlamaCpp) {
  const auto j = test::read_json("tokenizer/pre_variants.json");
  for (const auto& [pre, cases_json] : j.at("variants").items()) {
    VocabData v = cached_vocab();
    v.pre = pre;
    const auto tok = Tokenizer::create(std::move(v));
    check_cases(*tok, test::parse_cases(cases_json), pre);
  }
}

TEST(TokenizerLlamaCpp, DecodeRoundTripsValidText) {
  const auto tok = Tokenizer::create(cached_vocab());
  for (const auto& c : test::parse_cases(test::read_json("tokenizer/smollm2_tokens.json").at("cases"))) {
    if (!c.valid_utf8) continue;
    EXPECT_EQ(tok->decode(tok->encode(c.bytes, false, true)), c.bytes) << c.name;
    EXPECT_EQ(tok->decode(tok->encode(c.bytes, true, false)), c.bytes) << c.name;
  }
}

// Feeding ids one at a time gives the full decode (Python's errors="replace"
// rendering of it), and every chunk is well-formed UTF-8.
TEST(TokenizerLlamaCpp, IncrementalDetokenizerMatchesFullDecode) {
  const auto tok = Tokenizer::create(cached_vocab());
  int split_chars = 0;
  for (const auto& c : test::parse_cases(test::read_json("tokenizer/smollm2_tokens.json").at("cases"))) {
    const std::string streamed = test::stream_decode(*tok, c.ids[1][1], c.name, split_chars);
    EXPECT_EQ(streamed, c.decoded_replaced) << c.name;
    if (c.valid_utf8) EXPECT_EQ(streamed, c.decoded) << c.name;
  }
  EXPECT_GT(split_chars, 5) << "the fixtures should split some characters across tokens";
}

TEST(TokenizerLlamaCpp, EndOfGenerationTokens) {
  const auto tok = Tokenizer::create(cached_vocab());
  EXPECT_TRUE(tok->is_eog(tok->find_token("<|im_end|>")));
  EXPECT_TRUE(tok->is_eog(tok->find_token("<|endoftext|>")));
  EXPECT_FALSE(tok->is_eog(tok->find_token("<|im_start|>")));
  EXPECT_FALSE(tok->is_eog(tok->find_token("Hello")));
  EXPECT_EQ(tok->n_vocab(), 49152);
}

}  // namespace
}  // namespace loom
