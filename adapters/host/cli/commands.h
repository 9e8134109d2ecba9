// The CLI's subcommands; each registers its options and callback on the app.
#pragma once
#include <CLI/CLI.hpp>

namespace loom::cli {

void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);

}  // namespace loom::cli
