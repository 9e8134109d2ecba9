// SentencePiece ("llama") vocabularies against llama.cpp, using the small
// derived vocabulary in tests/fixtures/tokenizer/spm_vocab.json.
#include <gtest/gtest.h>

#include "backends/common/tokenizer/tokenizer.h"
#include "tests/tokenizer/fixture_cases.h"

namespace loom {
namespace {

TEST(TokenizerSpm, MatchesLlamaCppExactly) {
  const auto tok = Tokenizer::create(test::load_vocab_from_json(test::fixture_path("tokenizer/spm_vocab.json")));
  const auto cases = test::parse_cases(test::read_json("tokenizer/spm_tokens.json").at("cases"));
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    for (int b = 0; b < 2; ++b)
      for (int s = 0; s < 2; ++s)
        EXPECT_EQ(tok->encode(c.bytes, b, s), c.ids[b][s]) << c.name << " add=" << b << " special=" << s;
    EXPECT_EQ(tok->decode(c.ids[1][1]), c.decoded) << c.name;
  }
}

}  // namespace
}  // namespace loom
