// Finds stop strings in streamed text without ever releasing part of one:
// text that could still grow into a stop string is held back until the next
// piece decides it. O(new text x stop strings) per push.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace loom {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;      // safe to send now
    bool stopped = false;  // a stop string completed; emit ends just before it
  };

  Result push(std::string_view text);
  // At the end of generation: whatever is still held back (no stop matched).
  std::string flush();

 private:
  // Length of the longest suffix of pending_ that is a proper prefix of a stop.
  size_t partial_suffix() const;

  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace loom
