#include "backends/common/gguf/gguf_cursor.h"

namespace loom::gguf_detail {

// One line: "gguf: <what> at byte <offset> (<context>) in <path>".
void Cursor::fail(const std::string& what, uint64_t offset) const {
  std::string msg = "gguf: " + what + " at byte " + std::to_string(offset);
  if (!context_.empty() && what.find(context_) == std::string::npos) msg += " (" + context_ + ")";
  if (!path_.empty()) msg += " in " + std::string(path_);
  for (char& ch : msg)
    if (ch == '\n' || ch == '\r') ch = ' ';  // names from the file must not break the line
  throw GgufError(msg);
}

}  // namespace loom::gguf_detail
