// Loads the llama.cpp reference cases (tests/fixtures/tokenizer/*.json).
#pragma once
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backends/common/tokenizer/detokenizer.h"
#include "backends/common/tokenizer/unicode_text.h"
#include "tests/common/test_paths.h"
#include "tests/tokenizer/vocab_loader.h"

namespace loom::test {

struct RefCase {
  std::string name;
  std::string bytes;                    // the input, possibly invalid UTF-8
  bool valid_utf8;                      // the fixture has a "text" field
  std::vector<int32_t> ids[2][2];       // [add_special][parse_special]
  std::string decoded;                  // pieces of ids[1][1], specials rendered
  std::string decoded_nospecial;        // same without control tokens
  std::string decoded_replaced;         // decoded with Python's errors="replace"
};

inline std::vector<RefCase> parse_cases(const nlohmann::json& cases) {
  std::vector<RefCase> out;
  for (const auto& c : cases) {
    RefCase r;
    r.name = c.at("name");
    r.bytes = from_hex(c.at("bytes_hex"));
    r.valid_utf8 = c.contains("text");
    for (int b = 0; b < 2; ++b)
      for (int s = 0; s < 2; ++s)
        r.ids[b][s] = c.at("ids_bos" + std::to_string(b) + "_special" + std::to_string(s))
                          .get<std::vector<int32_t>>();
    r.decoded = from_hex(c.at("decoded_hex"));
    r.decoded_nospecial = from_hex(c.at("decoded_nospecial_hex"));
    r.decoded_replaced = from_hex(c.at("decoded_replaced_hex"));
    out.push_back(std::move(r));
  }
  return out;
}

inline nlohmann::json read_json(const std::string& fixture) {
  std::ifstream in(fixture_path(fixture));
  if (!in) throw std::runtime_error("missing fixture " + fixture_path(fixture));
  return nlohmann::json::parse(in);
}

// `ids` through an IncrementalDetokenizer, checking that every chunk (and the
// flushed tail) is well-formed UTF-8; counts in `split_chars` the tokens after
// which a character was left pending. Returns the streamed text.
inline std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, const std::string& name,
                                 int& split_chars) {
  IncrementalDetokenizer detok(tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string chunk = detok.push(id);
    EXPECT_TRUE(unicode::is_valid_utf8(chunk)) << name;
    split_chars += detok.pending() > 0;
    streamed += chunk;
  }
  const std::string tail = detok.flush();
  EXPECT_TRUE(unicode::is_valid_utf8(tail)) << name;
  return streamed + tail;
}

}  // namespace loom::test
