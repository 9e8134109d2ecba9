// StopMatcher against a byte-at-a-time reference over the whole text. Pieces of every split must give the same answer,
// and nothing emitted may ever be a prefix that later turns into a stop.
#include <gtest/gtest.h>

#include <random>

#include "backends/common/engine/stop_matcher.h"

namespace loom {
namespace {

// Generation is sequential: it stops at the first byte where some stop
// string is complete; among stops completing there, the longest one is cut.
std::string reference_cut(const std::string& text, const std::vector<std::string>& stops, bool* stopped) {
  for (size_t end = 1; end <= text.size(); ++end) {
    size_t cut = std::string::npos;
    for (const auto& s : stops)
      if (s.size() <= end && text.compare(end - s.size(), s.size(), s) == 0) cut = std::min(cut, end - s.size());
    if (cut != std::string::npos) {
      *stopped = true;
      return text.substr(0, cut);
    }
  }
  *stopped = false;
  return text;
}

TEST(StopMatcher, MatchesTheWholeTextReferenceOnRandomSplits) {
  std::mt19937 rng(7);
  const std::string alphabet = "abc";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    const int len = rng() % 30;
    for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    std::vector<std::string> stops;
    for (int s = 0, n = 1 + rng() % 3; s < n; ++s) {
      std::string stop;
      for (int i = 0, l = 1 + rng() % 4; i < l; ++i) stop += alphabet[rng() % alphabet.size()];
      stops.push_back(stop);
    }
    bool ref_stopped = false;
    const std::string expected = reference_cut(text, stops, &ref_stopped);
    StopMatcher m(stops);
    std::string got;
    bool stopped = false;
    for (size_t pos = 0; pos < text.size() && !stopped;) {
      const size_t n = std::min<size_t>(1 + rng() % 4, text.size() - pos);
      auto r = m.push(std::string_view(text).substr(pos, n));
      got += r.emit;
      stopped = r.stopped;
      pos += n;
      // What was emitted so far must be a prefix of the reference answer.
      ASSERT_EQ(expected.compare(0, got.size(), got), 0) << text;
    }
    if (!stopped) got += m.flush();
    EXPECT_EQ(got, expected) << "text '" << text << "'";
    EXPECT_EQ(stopped, ref_stopped) << "text '" << text << "'";
  }
}

}  // namespace
}  // namespace loom
