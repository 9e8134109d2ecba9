// Exact agreement with llama.cpp on the real Gemma 3 vocabulary (SentencePiece,
// 262144 tokens, thousands of control and user-defined tokens, no space
// prefix). The vocabulary is read from the GGUF (LOOM_GEMMA_MODEL, or the
// cache of `scripts/fetch_model.sh gemma3`); the tests skip without it.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/common/tokenizer/detokenizer.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "backends/common/tokenizer/unicode_text.h"
#include "tests/tokenizer/fixture_cases.h"

namespace loom {
namespace {

class GemmaTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = test::gemma_model_path();
    if (!std::filesystem::exists(path)) return;
    tok_ = Tokenizer::create(test::load_vocab_from_gguf(path)).release();
    fixture_ = new nlohmann::json(test::read_json("tokenizer/gemma3_tokens.json"));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete fixture_;
    tok_ = nullptr;
    fixture_ = nullptr;
  }
  void SetUp() override {
    if (tok_ == nullptr)
      GTEST_SKIP() << "Gemma 3 GGUF not found at " << test::gemma_model_path()
                   << " (run scripts/fetch_model.sh gemma3 or set LOOM_GEMMA_MODEL)";
  }
  static std::vector<test::RefCase> cases() { return test::parse_cases(fixture_->at("cases")); }

  static inline Tokenizer* tok_ = nullptr;
  static inline nlohmann::json* fixture_ = nullptr;
};

TEST_F(GemmaTokenizer, EncodeMatchesLlamaCpp) {
  const auto all = cases();
  ASSERT_GE(all.size(), 60u);
  for (const auto& c : all)
    for (int b = 0; b < 2; ++b)
      for (int s = 0; s < 2; ++s)
        EXPECT_EQ(tok_->encode(c.bytes, b, s), c.ids[b][s])
            << "case '" << c.name << "' add_special=" << b << " parse_special=" << s;
}

TEST_F(GemmaTokenizer, DecodeMatchesLlamaCpp) {
  for (const auto& c : cases()) {
    EXPECT_EQ(tok_->decode(c.ids[1][1]), c.decoded) << c.name;
    EXPECT_EQ(tok_->decode(c.ids[1][1], false), c.decoded_nospecial) << c.name;
  }
}

TEST_F(GemmaTokenizer, PiecesMatchLlamaCpp) {
  const auto& pieces = fixture_->at("vocab").at("pieces");
  ASSERT_GT(pieces.size(), 500u);
  for (const auto& p : pieces) {
    const int32_t id = p.at(0);
    EXPECT_EQ(tok_->token_to_piece(id, true), test::from_hex(p.at(1))) << "token " << id;
    EXPECT_EQ(tok_->token_to_piece(id, false), test::from_hex(p.at(2))) << "token " << id;
  }
}

// Ids fed one at a time give Python's errors="replace" rendering of the full
// decode, and no chunk ever ends inside a UTF-8 character.
TEST_F(GemmaTokenizer, IncrementalDetokenizerNeverSplitsUtf8) {
  int split_chars = 0;
  for (const auto& c : cases()) {
    const std::string streamed = test::stream_decode(*tok_, c.ids[1][1], c.name, split_chars);
    EXPECT_EQ(streamed, c.decoded_replaced) << c.name;
  }
  EXPECT_GT(split_chars, 3) << "the fixtures should split some characters across byte tokens";
}

TEST_F(GemmaTokenizer, SpecialIdsMatchLlamaCpp) {
  const auto& v = fixture_->at("vocab");
  EXPECT_EQ(tok_->n_vocab(), v.at("n_vocab").get<int32_t>());
  EXPECT_EQ(tok_->bos_id(), v.at("bos_id").get<int32_t>());
  EXPECT_EQ(tok_->eos_id(), v.at("eos_id").get<int32_t>());
  EXPECT_EQ(tok_->eot_id(), v.at("eot_id").get<int32_t>());
  const auto eog = v.at("eog_ids").get<std::vector<int32_t>>();
  EXPECT_EQ(std::vector<int32_t>(tok_->eog_ids().begin(), tok_->eog_ids().end()), eog);
  EXPECT_TRUE(tok_->add_bos());
}

}  // namespace
}  // namespace loom
