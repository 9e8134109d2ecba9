#include "backends/common/tokenizer/detokenizer.h"

#include "backends/common/tokenizer/unicode_text.h"

namespace loom {

std::string IncrementalDetokenizer::push(int32_t id) {
  pending_ += tokenizer_.token_to_piece(id, render_special_);
  std::string out;
  const size_t used = unicode::append_valid_utf8(pending_, /*final=*/false, out);
  pending_.erase(0, used);
  return out;
}

std::string IncrementalDetokenizer::flush() {
  std::string out;
  unicode::append_valid_utf8(pending_, /*final=*/true, out);
  pending_.clear();
  return out;
}

}  // namespace loom
