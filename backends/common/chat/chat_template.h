// Chat templates without a Jinja engine: the template text is matched to a
// known family and rendered by code that reproduces that family's Jinja output
// byte for byte (checked against jinja2 in tests/tokenizer/chat_template_test.cpp).
#pragma once
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loom {

class ChatTemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

enum class ChatFamily {
  kChatml,   // <|im_start|>role\n...<|im_end|>\n (SmolLM2, Qwen2), optional default system
  kLlama3,   // <|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>
  kLlama2,   // <s>[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST] ... </s>
  kMistral,  // <s>[INST] ... [/INST]...</s>, user/assistant only
  kGemma,    // <bos><start_of_turn>user\n...<end_of_turn>\n, assistant -> model, system folded into the first turn
};

struct ChatTemplateInfo {
  ChatFamily family;
  // chatml: the system prompt the template inserts when the first message is
  // not "system" (SmolLM2: "You are a helpful AI assistant named SmolLM, ...").
  std::string default_system;
  // gemma: the template raises on a system message (Gemma 2) instead of
  // folding it into the first user turn (Gemma 3).
  bool rejects_system = false;
};

// Recognizes the family from the template text (tokenizer.chat_template);
// throws ChatTemplateError for an unknown template (callers may fall back to
// sending a raw prompt).
ChatTemplateInfo detect_chat_template(std::string_view template_text);

// The template to use for a GGUF that carries none, by general.architecture:
// "gemma3" (the base models ship without one) gets a Gemma 3 template, which
// detect_chat_template() maps to kGemma; anything else "" (no chat).
std::string_view fallback_chat_template(std::string_view architecture);

// Renders messages as the template would with jinja2. bos/eos are the token
// strings (e.g. "<s>", "</s>"). Throws ChatTemplateError where the template
// itself raises (llama2/mistral/gemma: roles must alternate user/assistant).
std::string render_chat(std::string_view template_text, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, std::string_view bos_token,
                        std::string_view eos_token);

// Same, for an already detected template.
std::string render_chat(const ChatTemplateInfo& info, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, std::string_view bos_token,
                        std::string_view eos_token);

}  // namespace loom
