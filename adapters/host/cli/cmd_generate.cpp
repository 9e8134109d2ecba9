// loom generate: one prompt in, one streamed completion out, through a
// backend .so and the same engine `loom serve` runs.
#include <cstdio>
#include <memory>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/job_options.h"

namespace loom::cli {
namespace {

struct GenerateArgs {
  BackendOptions backend;
  JobParams params;
  std::string prompt;
  bool chat = false;
};

void run_generate(const GenerateArgs& args) {
  auto engine = open_engine(args.backend, "loom generate");
  JobRequest request;
  request.id = "generate";
  if (args.chat) {
    request.prompt.value = std::vector<ChatTurn>{{"user", args.prompt}};
  } else {
    request.prompt.value = args.prompt;
  }
  request.params = args.params;
  request.params.sampling.top_logprobs = request.params.logprobs;
  const JobEvent done = run_job(*engine, std::move(request), [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  });
  report_job(done);
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  args->backend.default_max_num_seqs = 1;
  auto* cmd = app.add_subcommand("generate", "complete one prompt, streamed to stdout");
  add_backend_options(*cmd, args->backend);
  add_job_options(*cmd, args->params);
  cmd->add_option("-p,--prompt", args->prompt, "the prompt text")->required();
  cmd->add_flag("--chat", args->chat, "wrap the prompt as a user message in the model's chat template");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace loom::cli
