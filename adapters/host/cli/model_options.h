// Options every model-running subcommand shares, and loading with a progress line.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "adapters/host/cli/generation.h"
#include "backends/cpu/cpu_model.h"

namespace loom::cli {

struct ModelOptions {
  std::string model_path;
  CpuModelOptions cpu;
  GenerateOptions generate;
};

// Registers --model, --threads, --ctx and the sampling flags on `cmd`.
void add_model_options(CLI::App& cmd, ModelOptions& options);

// Loads the model, drawing a progress line on stderr; errors are rethrown with
// a hint of what to do.
std::unique_ptr<CpuModel> load_model_with_progress(const ModelOptions& options);

}  // namespace loom::cli
