#include "backends/common/chat/chat_template.h"

#include <array>

namespace loom {
namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Length of the Python-whitespace character (str.isspace) at s[i], 0 if none.
size_t space_len(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  static constexpr std::array<std::string_view, 17> kMultibyte = {
      "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82",
      "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
      "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE3\x80\x80"};
  for (std::string_view w : kMultibyte)
    if (s.substr(i, w.size()) == w) return w.size();
  for (std::string_view w : {std::string_view("\xE2\x80\xAF"), std::string_view("\xE2\x81\x9F")})
    if (s.substr(i, w.size()) == w) return w.size();
  return 0;
}

// Jinja's |trim and Python's str.strip(): Unicode whitespace at both ends.
std::string strip(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    const size_t n = space_len(s, b);
    if (n == 0) break;
    b += n;
  }
  size_t e = s.size();
  while (e > b) {  // step back over one whole character at a time
    size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (space_len(s, start) != e - start) break;
    e = start;
  }
  return std::string(s.substr(b, e - b));
}

// The default system prompt of a chatml template, e.g. SmolLM2's
// {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n...<|im_end|>\n' }}
std::string chatml_default_system(std::string_view t) {
  if (!contains(t, "!= 'system'") && !contains(t, "!= \"system\"")) return {};
  constexpr std::string_view kOpen = "<|im_start|>system";
  const size_t open = t.find(kOpen);
  if (open == std::string_view::npos) return {};
  size_t p = open + kOpen.size();
  if (t.substr(p, 1) == "\n") p += 1;
  else if (t.substr(p, 2) == "\\n") p += 2;
  else return {};
  const size_t close = t.find("<|im_end|>", p);
  if (close == std::string_view::npos) return {};
  const std::string_view raw = t.substr(p, close - p);
  if (contains(raw, "{") || contains(raw, "'") || contains(raw, "\"")) return {};  // not a literal
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += raw[i];
    }
  }
  return out;
}

void require_alternation(std::span<const ChatMessage> msgs) {
  for (size_t i = 0; i < msgs.size(); ++i) {
    if ((msgs[i].role == "user") != (i % 2 == 0))
      throw ChatTemplateError("chat template: conversation roles must alternate user/assistant/user/assistant/...");
  }
}

std::string render_chatml(const ChatTemplateInfo& info, std::span<const ChatMessage> msgs, bool gen) {
  std::string out;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i == 0 && !info.default_system.empty() && msgs[0].role != "system")
      out += "<|im_start|>system\n" + info.default_system + "<|im_end|>\n";
    out += "<|im_start|>" + msgs[i].role + "\n" + msgs[i].content + "<|im_end|>\n";
  }
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_llama3(std::span<const ChatMessage> msgs, bool gen, std::string_view bos) {
  std::string out;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i == 0) out += bos;
    out += "<|start_header_id|>" + msgs[i].role + "<|end_header_id|>\n\n" + strip(msgs[i].content) + "<|eot_id|>";
  }
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_llama2(std::span<const ChatMessage> msgs, std::string_view bos, std::string_view eos) {
  // The template reads messages[0] unguarded: jinja2 fails on an empty list.
  if (msgs.empty()) throw ChatTemplateError("chat template: llama2 needs at least one message");
  const bool has_system = !msgs.empty() && msgs[0].role == "system";
  const auto loop = has_system ? msgs.subspan(1) : msgs;
  require_alternation(loop);
  std::string out;
  for (size_t i = 0; i < loop.size(); ++i) {
    std::string content = loop[i].content;
    if (i == 0 && has_system) content = "<<SYS>>\n" + msgs[0].content + "\n<</SYS>>\n\n" + content;
    if (loop[i].role == "user") {
      out += std::string(bos) + "[INST] " + strip(content) + " [/INST]";
    } else if (loop[i].role == "assistant") {
      out += " " + strip(content) + " " + std::string(eos);
    }
  }
  return out;
}

std::string render_mistral(std::span<const ChatMessage> msgs, std::string_view bos, std::string_view eos) {
  std::string out(bos);
  for (size_t i = 0; i < msgs.size(); ++i) {
    if ((msgs[i].role == "user") != (i % 2 == 0))
      throw ChatTemplateError("chat template: conversation roles must alternate user/assistant/user/assistant/...");
    if (msgs[i].role == "user") {
      out += "[INST] " + msgs[i].content + " [/INST]";
    } else if (msgs[i].role == "assistant") {
      out += msgs[i].content + std::string(eos);
    } else {
      throw ChatTemplateError("chat template: only user and assistant roles are supported (got '" +
                              msgs[i].role + "')");
    }
  }
  return out;
}

// Gemma 3: a leading system message becomes a prefix of the first turn,
// unstripped and followed by a blank line; other contents are trimmed.
// Gemma 2 refuses a system message.
std::string render_gemma(const ChatTemplateInfo& info, std::span<const ChatMessage> msgs, bool gen,
                         std::string_view bos) {
  // The template reads messages[0] unguarded: jinja2 fails on an empty list.
  if (msgs.empty()) throw ChatTemplateError("chat template: gemma needs at least one message");
  const bool has_system = msgs[0].role == "system";
  if (has_system && info.rejects_system) throw ChatTemplateError("chat template: system role not supported");
  const auto loop = has_system ? msgs.subspan(1) : msgs;
  require_alternation(loop);
  std::string out(bos);
  for (size_t i = 0; i < loop.size(); ++i) {
    out += "<start_of_turn>" + (loop[i].role == "assistant" ? std::string("model") : loop[i].role) + "\n";
    if (i == 0 && has_system) out += msgs[0].content + "\n\n";
    out += strip(loop[i].content) + "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace

std::string_view fallback_chat_template(std::string_view architecture) {
  // The Gemma 3 turn format (system folded into the first user turn).
  static constexpr std::string_view kGemma3 =
      "{{ bos_token }}{% set sys = messages[0]['content'] + '\n\n' if messages[0]['role'] == 'system' else '' %}"
      "{% for m in (messages[1:] if messages[0]['role'] == 'system' else messages) %}"
      "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
      "{{ (sys if loop.first else '') + m['content'] | trim }}<end_of_turn>\n{% endfor %}"
      "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
  return architecture == "gemma3" ? kGemma3 : std::string_view{};
}

ChatTemplateInfo detect_chat_template(std::string_view t) {
  if (contains(t, "<|im_start|>")) return {ChatFamily::kChatml, chatml_default_system(t)};
  if (contains(t, "<|start_header_id|>")) return {ChatFamily::kLlama3, {}};
  if (contains(t, "[INST]") && contains(t, "<<SYS>>")) return {ChatFamily::kLlama2, {}};
  if (contains(t, "[INST]")) return {ChatFamily::kMistral, {}};
  if (contains(t, "<start_of_turn>")) return {ChatFamily::kGemma, {}, contains(t, "System role not supported")};
  throw ChatTemplateError(
      "chat template: unrecognized template (known: chatml, llama3, llama2, mistral, gemma); "
      "send a raw prompt instead. Template starts with: " +
      std::string(t.substr(0, 80)));
}

std::string render_chat(const ChatTemplateInfo& info, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, std::string_view bos, std::string_view eos) {
  switch (info.family) {
    case ChatFamily::kChatml:
      return render_chatml(info, messages, add_generation_prompt);
    case ChatFamily::kLlama3:
      return render_llama3(messages, add_generation_prompt, bos);
    case ChatFamily::kLlama2:
      return render_llama2(messages, bos, eos);
    case ChatFamily::kMistral:
      return render_mistral(messages, bos, eos);
    case ChatFamily::kGemma:
      return render_gemma(info, messages, add_generation_prompt, bos);
  }
  throw ChatTemplateError("chat template: bad family");
}

std::string render_chat(std::string_view template_text, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, std::string_view bos, std::string_view eos) {
  return render_chat(detect_chat_template(template_text), messages, add_generation_prompt, bos, eos);
}

}  // namespace loom
