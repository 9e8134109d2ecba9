// loom chat: an interactive, streamed conversation on stdin/stdout. The whole
// conversation is re-rendered with the chat template each turn; the KV cache
// keeps the tokens both renderings share, so only the new turn is computed.
#include <cstdio>
#include <iostream>
#include <memory>

#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/model_options.h"
#include "backends/common/chat/chat_template.h"

namespace loom::cli {
namespace {

struct ChatArgs {
  ModelOptions model;
  std::string system;
};

// Tokens of `next` past the part shared with what the sequence already holds.
size_t shared_prefix(const std::vector<int32_t>& held, const std::vector<int32_t>& next) {
  size_t n = 0;
  while (n < held.size() && n < next.size() && held[n] == next[n]) ++n;
  return n;
}

void run_chat(const ChatArgs& args) {
  auto model = load_model_with_progress(args.model);
  const Tokenizer& tok = model->tokenizer();
  const auto info = detect_chat_template(model->chat_template());
  std::vector<ChatMessage> messages;
  if (!args.system.empty()) messages.push_back({"system", args.system});
  SingleSequence seq(*model);
  std::vector<int32_t> held;  // tokens in the KV cache
  std::string line;
  std::fprintf(stderr, "chat with %s; an empty line or Ctrl-D ends\n", model->config().name.c_str());
  while (true) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line) || line.empty()) break;
    messages.push_back({"user", line});
    const std::string text = render_chat(info, messages, true, tok.token_text(tok.bos_id()), "");
    std::vector<int32_t> all = tok.encode(text, false, true);
    // Keep the cached tokens this rendering shares; compute the rest (at least one).
    const size_t keep = std::min({shared_prefix(held, all), all.size() - 1,
                                  static_cast<size_t>(seq.position())});
    seq.truncate(static_cast<int32_t>(keep));
    std::string reply;
    auto result = generate(*model, seq, std::span(all).subspan(keep), args.model.generate,
                           [&](std::string_view piece) {
                             reply += piece;
                             std::fwrite(piece.data(), 1, piece.size(), stdout);
                             std::fflush(stdout);
                           });
    std::printf("\n");
    std::fprintf(stderr, "[%zu tokens, %.1f tok/s]\n", result.tokens.size(),
                 result.tokens.size() / std::max(result.decode_seconds, 1e-9));
    messages.push_back({"assistant", reply});
    held = all;
    held.insert(held.end(), result.tokens.begin(), result.tokens.end());
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  auto* cmd = app.add_subcommand("chat", "interactive chat, streamed");
  add_model_options(*cmd, args->model);
  cmd->add_option("--system", args->system, "a system message");
  cmd->callback([args] { run_chat(*args); });
}

}  // namespace loom::cli
