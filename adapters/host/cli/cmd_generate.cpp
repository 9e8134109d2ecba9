// loom generate: one prompt in, one streamed completion out, then tokens/s.
#include <cstdio>
#include <memory>

#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/model_options.h"
#include "backends/common/chat/chat_template.h"

namespace loom::cli {
namespace {

struct GenerateArgs {
  ModelOptions model;
  std::string prompt;
  bool chat = false;
};

void print_speed(size_t prompt_tokens, const GenerateResult& r) {
  std::fprintf(stderr, "\n[%zu prompt tokens, %.1f tok/s prefill | %zu tokens, %.1f tok/s decode | %s]\n",
               prompt_tokens, prompt_tokens / std::max(r.prefill_seconds, 1e-9), r.tokens.size(),
               r.tokens.size() / std::max(r.decode_seconds, 1e-9), r.finish_reason.c_str());
}

void run_generate(const GenerateArgs& args) {
  auto model = load_model_with_progress(args.model);
  const Tokenizer& tok = model->tokenizer();
  std::vector<int32_t> prompt;
  if (args.chat) {
    const ChatMessage message{"user", args.prompt};
    const std::string text = render_chat(model->chat_template(), std::span(&message, 1), true,
                                         tok.bos_id() >= 0 ? tok.token_text(tok.bos_id()) : "",
                                         tok.eos_id() >= 0 ? tok.token_text(tok.eos_id()) : "");
    prompt = tok.encode(text, /*add_special=*/false, /*parse_special=*/true);
  } else {
    prompt = tok.encode(args.prompt, /*add_special=*/true, /*parse_special=*/false);
  }
  SingleSequence seq(*model);
  auto result = generate(*model, seq, prompt, args.model.generate, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  print_speed(prompt.size(), result);
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "complete one prompt, streamed to stdout");
  add_model_options(*cmd, args->model);
  cmd->add_option("-p,--prompt", args->prompt, "the prompt text")->required();
  cmd->add_flag("--chat", args->chat, "wrap the prompt as a user message in the model's chat template");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace loom::cli
