// Chat rendering against jinja2's output for the real templates
// (tests/fixtures/tokenizer/chat/chat_templates.json).
#include <gtest/gtest.h>

#include "backends/common/chat/chat_template.h"
#include "tests/tokenizer/fixture_cases.h"

namespace loom {
namespace {

std::vector<ChatMessage> messages_of(const nlohmann::json& j) {
  std::vector<ChatMessage> out;
  for (const auto& m : j) out.push_back({m.at("role"), m.at("content")});
  return out;
}

TEST(ChatTemplate, MatchesJinja2ForKnownTemplates) {
  const auto j = test::read_json("tokenizer/chat/chat_templates.json");
  int checked = 0, errors = 0;
  for (const auto& t : j.at("templates")) {
    const std::string text = t.at("template");
    const std::string name = t.at("name");
    for (const auto& r : t.at("renders")) {
      const auto msgs = messages_of(r.at("messages"));
      const bool gen = r.at("add_generation_prompt");
      const std::string bos = t.at("bos_token"), eos = t.at("eos_token");
      if (r.contains("error")) {
        EXPECT_THROW(render_chat(text, msgs, gen, bos, eos), ChatTemplateError)
            << name << " " << r.at("messages").dump();
        ++errors;
        continue;
      }
      EXPECT_EQ(render_chat(text, msgs, gen, bos, eos),
                r.at("expected").get<std::string>())
          << name << " gen=" << gen << " " << r.at("messages").dump();
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
  EXPECT_GT(errors, 3);
}

// A Gemma 3 GGUF without tokenizer.chat_template gets Loom's fallback, which
// must render every conversation as jinja2 renders Gemma 3's real template.
TEST(ChatTemplate, Gemma3FallbackRendersAsTheRealTemplate) {
  EXPECT_TRUE(fallback_chat_template("llama").empty());
  const std::string fallback(fallback_chat_template("gemma3"));
  const auto j = test::read_json("tokenizer/chat/chat_templates.json");
  int checked = 0;
  for (const auto& t : j.at("templates")) {
    if (t.at("name") != "gemma3") continue;
    for (const auto& r : t.at("renders")) {
      if (r.contains("error")) continue;
      const auto msgs = messages_of(r.at("messages"));
      EXPECT_EQ(render_chat(fallback, msgs, r.at("add_generation_prompt"), "<bos>", "<eos>"),
                r.at("expected").get<std::string>())
          << r.at("messages").dump();
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

TEST(ChatTemplate, DetectsFamiliesAndDefaultSystem) {
  const auto j = test::read_json("tokenizer/chat/chat_templates.json");
  for (const auto& t : j.at("templates")) {
    const ChatTemplateInfo info = detect_chat_template(t.at("template").get<std::string>());
    const std::string family = t.at("family");
    const char* names[] = {"chatml", "llama3", "llama2", "mistral", "gemma"};
    EXPECT_EQ(names[static_cast<int>(info.family)], family) << t.at("name");
    if (t.at("name") == "smollm2") {
      EXPECT_EQ(info.default_system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
    }
  }
}

TEST(ChatTemplate, UnknownTemplateIsAClearError) {
  const std::vector<ChatMessage> msgs{{"user", "hi"}};
  try {
    render_chat("{% for m in messages %}{{ m.content }}{% endfor %}", msgs, true, "", "");
    FAIL() << "expected ChatTemplateError";
  } catch (const ChatTemplateError& e) {
    EXPECT_NE(std::string(e.what()).find("unrecognized template"), std::string::npos);
  }
}

}  // namespace
}  // namespace loom
