// The CLI's subcommands; each registers its options and callback on the app.
#pragma once
#include <CLI/CLI.hpp>

namespace loom::cli {

void add_generate_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_serve_command(CLI::App& app);  // hosts a backend plugin (.so)
void add_proxy_command(CLI::App& app);  // the broker over many backends
void add_http_command(CLI::App& app);   // the HTTP gateway in front of ZeroMQ
void add_keygen_command(CLI::App& app);  // CURVE certificate pairs
void add_perplexity_command(CLI::App& app);  // llama-perplexity's measurement over a text file

}  // namespace loom::cli
