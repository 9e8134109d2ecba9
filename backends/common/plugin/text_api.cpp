// tokenize / detokenize and the plugin-allocated results they return.
#include <cstdlib>
#include <cstring>
#include <new>

#include "backends/common/plugin/backend_state.h"
#include "backends/common/plugin/errors.h"
#include "backends/common/plugin/text_api.h"

namespace loom::plugin {
// Each result is one malloc block: the C struct, then its payload, so the
// pointer handed out is the pointer freed and nothing else is owned.
void* alloc_block(size_t bytes) {
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

loom_tokens* tokens_make(std::vector<int32_t> ids) {
  auto* t = static_cast<loom_tokens*>(alloc_block(sizeof(loom_tokens) + ids.size() * sizeof(int32_t)));
  auto* payload = reinterpret_cast<int32_t*>(reinterpret_cast<char*>(t) + sizeof(loom_tokens));
  if (!ids.empty()) std::memcpy(payload, ids.data(), ids.size() * sizeof(int32_t));
  *t = loom_tokens{sizeof(loom_tokens), payload, ids.size()};
  return t;
}

void tokens_free(loom_tokens* tokens) noexcept { std::free(tokens); }

loom_text* text_make(std::string text) {
  auto* t = static_cast<loom_text*>(alloc_block(sizeof(loom_text) + text.size() + 1));
  char* payload = reinterpret_cast<char*>(t) + sizeof(loom_text);
  std::memcpy(payload, text.c_str(), text.size() + 1);
  *t = loom_text{sizeof(loom_text), payload, text.size()};
  return t;
}

void text_free(loom_text* text) noexcept { std::free(text); }

loom_tokens* tokenize(loom_backend& b, std::string_view text, bool add_special, bool parse_special) {
  return tokens_make(b.parts.tokenizer->encode(text, add_special, parse_special));
}

loom_text* detokenize(loom_backend& b, std::span<const int32_t> ids) {
  const int32_t n_vocab = b.parts.tokenizer->n_vocab();
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= n_vocab)
      throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                                                       " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
  return text_make(b.parts.tokenizer->decode(ids));
}

}  // namespace loom::plugin
