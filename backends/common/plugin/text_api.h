// Plugin-allocated results (loom_tokens, loom_text) and the tokenizer calls.
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plugin_api/include/loom/plugin.h"

namespace loom::plugin {

loom_tokens* tokens_make(std::vector<int32_t> ids);
void tokens_free(loom_tokens* tokens) noexcept;  // NULL is fine
loom_text* text_make(std::string text);
void text_free(loom_text* text) noexcept;  // NULL is fine

loom_tokens* tokenize(loom_backend& b, std::string_view text, bool add_special, bool parse_special);
// Throws PluginError(invalid_argument) on an id outside the vocabulary.
loom_text* detokenize(loom_backend& b, std::span<const int32_t> ids);

}  // namespace loom::plugin
