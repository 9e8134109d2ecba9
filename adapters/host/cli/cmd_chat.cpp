// loom chat: an interactive, streamed conversation on stdin/stdout, through a
// backend .so and the same engine `loom serve` runs. The whole conversation
// is sent each turn; the engine's prefix cache keeps the KV blocks the turns
// share, so only the new turn is computed.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/job_options.h"

namespace loom::cli {
namespace {

struct ChatArgs {
  BackendOptions backend;
  JobParams params;
  std::string system;
};

void run_chat(const ChatArgs& args) {
  auto engine = open_engine(args.backend, "loom chat");
  std::vector<ChatTurn> turns;
  if (!args.system.empty()) turns.push_back({"system", args.system});
  std::fprintf(stderr, "chat with %s; an empty line or Ctrl-D ends\n", engine->model_info().name.c_str());
  std::string line;
  for (int turn = 0;; ++turn) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line) || line.empty()) break;
    turns.push_back({"user", line});
    JobRequest request;
    request.id = "chat-" + std::to_string(turn);
    request.prompt.value = turns;
    request.params = args.params;
    std::string reply;
    const JobEvent done = run_job(*engine, std::move(request), [&](std::string_view piece) {
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    });
    std::printf("\n");
    report_job(done);
    turns.push_back({"assistant", reply});
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  args->backend.default_max_num_seqs = 1;
  auto* cmd = app.add_subcommand("chat", "interactive chat, streamed");
  add_backend_options(*cmd, args->backend);
  add_job_options(*cmd, args->params);
  cmd->add_option("--system", args->system, "a system message");
  cmd->callback([args] { run_chat(*args); });
}

}  // namespace loom::cli
