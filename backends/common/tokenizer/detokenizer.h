// Streaming token ids -> text for one sequence, never splitting a UTF-8
// character across chunks. O(new bytes) per push.
#pragma once
#include <cstdint>
#include <string>

#include "backends/common/tokenizer/tokenizer.h"

namespace loom {

class IncrementalDetokenizer {
 public:
  // The tokenizer must outlive this object.
  explicit IncrementalDetokenizer(const Tokenizer& tokenizer, bool render_special = true)
      : tokenizer_(tokenizer), render_special_(render_special) {}

  // The newly completed text: always well-formed UTF-8. An incomplete trailing
  // sequence is held back until the next push; bytes that can never form a
  // character become U+FFFD (one per maximal invalid subpart).
  std::string push(int32_t id);

  // End of stream: whatever is still held back, as U+FFFD.
  std::string flush();

  // Bytes held back (0..3).
  size_t pending() const { return pending_.size(); }

 private:
  const Tokenizer& tokenizer_;
  bool render_special_;
  std::string pending_;
};

}  // namespace loom
