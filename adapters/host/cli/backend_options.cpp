#include "adapters/host/cli/backend_options.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace loom::cli {
namespace fs = std::filesystem;

void add_backend_options(CLI::App& cmd, BackendOptions& o, bool model_required, bool ctx_option) {
  cmd.add_option("--backend", o.backend,
                 "backend plugin (.so): libloom_cpu.so (default, beside this program), libloom_cuda.so, "
                 "libloom_cuda_emu.so");
  auto* model = cmd.add_option("-m,--model", o.model, "GGUF model file (the config's \"model\")");
  if (model_required) model->required();
  cmd.add_option("--config-json", o.config_json, "more backend config keys as a JSON object (plugin_api/ABI.md)");
  cmd.add_option("-t,--threads", o.threads, "compute threads (0: every core)");
  if (ctx_option) cmd.add_option("-c,--ctx", o.ctx, "tokens per sequence (0: the model's context)");
}

std::string backend_config(const BackendOptions& o) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(o.config_json);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(std::string("--config-json is not valid JSON: ") + e.what());
  }
  if (!config.is_object()) throw std::invalid_argument("--config-json must be a JSON object");
  if (!o.model.empty()) config["model"] = o.model;
  if (o.threads >= 0) config["threads"] = o.threads;
  if (o.ctx >= 0) config["max_context"] = o.ctx;
  if (o.default_max_num_seqs > 0 && !config.contains("max_num_seqs")) config["max_num_seqs"] = o.default_max_num_seqs;
  if (!config.contains("model")) throw std::invalid_argument("no model: pass --model PATH (scripts/fetch_model.sh)");
  return config.dump();
}

std::string default_backend_path() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& candidate : {exe.parent_path() / "../../lib/libloom_cpu.so",
                                    exe.parent_path() / "../lib/libloom_cpu.so",
                                    exe.parent_path() / "libloom_cpu.so"}) {
    if (fs::is_regular_file(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return "";
}

std::unique_ptr<PluginEngine> open_engine(const BackendOptions& o, const char* who) {
  const std::string config = backend_config(o);
  const std::string path = o.backend.empty() ? default_backend_path() : o.backend;
  if (path.empty()) throw std::runtime_error("no libloom_cpu.so beside this program; pass --backend PATH");
  if (!o.model.empty() && !fs::is_regular_file(o.model))
    throw std::runtime_error("model file '" + o.model +
                             "' does not exist; pass --model PATH (scripts/fetch_model.sh fetches SmolLM2)");
  auto lib = plugin_host::Library::open(path);
  const loom_plugin_api& api = lib->api();
  std::fprintf(stderr, "%s: %s backend (ABI %u.%u): %s\n", who, api.backend_name, api.abi_major, api.abi_minor,
               api.build_info);
  std::fprintf(stderr, "%s: probe: %s\n", who, lib->probe().device);
  std::fprintf(stderr, "%s: loading %s ...\n", who, o.model.c_str());
  auto engine = std::make_unique<PluginEngine>(lib->create(config));
  engine->start();
  const auto stats = nlohmann::json::parse(engine->stats_json());
  const auto& s = stats["startup"];
  std::fprintf(stderr, "%s: loaded %s: context %lld, %s\n", who, stats["model"].value("name", "?").c_str(),
               static_cast<long long>(stats["model"].value("max_context", int64_t{0})), s.dump().c_str());
  return engine;
}

}  // namespace loom::cli
