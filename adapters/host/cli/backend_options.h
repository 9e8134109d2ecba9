// What every model-running subcommand (generate, chat, serve) shares: which
// backend .so, which model, the backend config, and loading it through the
// C ABI with progress on stderr. Every command runs the same engine this
// way, so the terminal behaves as the server does.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "contract/plugin_engine.h"

namespace loom::cli {

struct BackendOptions {
  std::string backend;  // path of the backend .so; empty: the CPU backend beside this program
  std::string model;
  std::string config_json = "{}";
  int32_t threads = -1;  // -1: the config's (or the backend's default)
  int32_t ctx = -1;
  // Set when the config has no max_num_seqs: a one-user command (generate,
  // chat) asks for 1, so the KV cache holds one context, not half the memory.
  int32_t default_max_num_seqs = 0;
};

// Registers --backend, --model, --config-json, --threads and (unless the
// command gives --ctx a meaning of its own) --ctx.
void add_backend_options(CLI::App& cmd, BackendOptions& options, bool model_required = true,
                         bool ctx_option = true);

// The backend config: --config-json with the flags laid over it (flags win).
std::string backend_config(const BackendOptions& options);

// Loads the backend and the model (progress on stderr), starts it.
std::unique_ptr<PluginEngine> open_engine(const BackendOptions& options, const char* who);

// The CPU backend built beside this program (build/lib/libloom_cpu.so for
// build/adapters/host/loom), or "" when there is none.
std::string default_backend_path();

}  // namespace loom::cli
