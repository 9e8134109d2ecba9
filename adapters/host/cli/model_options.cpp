#include "adapters/host/cli/model_options.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "backends/common/gguf/gguf_value.h"

namespace loom::cli {

void add_model_options(CLI::App& cmd, ModelOptions& o) {
  cmd.add_option("-m,--model", o.model_path, "GGUF model file (Llama family)")->required();
  cmd.add_option("-t,--threads", o.cpu.threads, "worker threads (0: all cores)");
  cmd.add_option("-c,--ctx", o.cpu.max_context, "context length (0: the model's)");
  auto& s = o.generate.sampling;
  cmd.add_option("-n,--max-tokens", o.generate.max_tokens, "tokens to generate at most");
  cmd.add_option("--temperature", s.temperature, "0 for greedy");
  cmd.add_option("--top-k", s.top_k, "0: off");
  cmd.add_option("--top-p", s.top_p, "in (0, 1]");
  cmd.add_option("--min-p", s.min_p, "in [0, 1]");
  cmd.add_option("--repetition-penalty", s.repetition_penalty, "1: off");
  cmd.add_option("--presence-penalty", s.presence_penalty);
  cmd.add_option("--frequency-penalty", s.frequency_penalty);
  cmd.add_option("--seed", s.seed, "makes sampling reproducible")->each([&s](const std::string&) {
    s.has_seed = true;
  });
  cmd.add_flag("--ignore-eos", o.generate.ignore_eos, "keep going past end-of-generation");
}

std::unique_ptr<CpuModel> load_model_with_progress(const ModelOptions& o) {
  if (!std::filesystem::is_regular_file(o.model_path))
    throw std::runtime_error("model file '" + o.model_path +
                             "' does not exist; pass --model PATH (scripts/fetch_model.sh fetches SmolLM2)");
  auto progress = [](std::string_view stage, double fraction) {
    std::fprintf(stderr, "\rloading model: %-20.*s %3d%%", static_cast<int>(stage.size()), stage.data(),
                 static_cast<int>(fraction * 100));
    std::fflush(stderr);
  };
  try {
    auto model = CpuModel::load(o.model_path, o.cpu, progress);
    const auto& c = model->config();
    std::fprintf(stderr, "\rloaded %s: %d layers, dim %d, %d threads, context %d\n", c.name.c_str(),
                 c.n_layers, c.dim, model->threads(), model->context());
    return model;
  } catch (const GgufError& e) {
    std::fprintf(stderr, "\n");
    throw std::runtime_error(std::string(e.what()) +
                             " -- is this a complete GGUF file? re-download it (scripts/fetch_model.sh)");
  } catch (...) {
    std::fprintf(stderr, "\n");
    throw;
  }
}

}  // namespace loom::cli
