// loom: the command-line program for people.
//   loom generate --model M --prompt "..."   one completion, streamed
//   loom chat --model M                      interactive chat, streamed
//   loom serve --backend libloom_cpu.so --model M --endpoint E   host a backend plugin
//   loom proxy --frontend A --backend B          broker over many backends
//   loom http --listen H:P --connect E           HTTP gateway in front of a serve or proxy
//   loom keygen NAME                             CURVE certificate pair NAME.key, NAME.key_secret
//   loom perplexity --model M --file TEXT [--ctx 512] [--chunks N]   llama-perplexity's figure
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "adapters/host/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Loom: an LLM inference backend"};
  app.require_subcommand(1);
  loom::cli::add_generate_command(app);
  loom::cli::add_chat_command(app);
  loom::cli::add_serve_command(app);
  loom::cli::add_proxy_command(app);
  loom::cli::add_http_command(app);
  loom::cli::add_keygen_command(app);
  loom::cli::add_perplexity_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
