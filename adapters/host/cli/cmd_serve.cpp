// loom serve: host a backend plugin (.so) and let it serve its ZeroMQ
// endpoint until SIGTERM or SIGINT, then drain.
//   loom serve --backend build/lib/libloom_cpu.so --model M --endpoint ipc:///tmp/loom.sock
//              [--proxy tcp://...] [--config-json '{"threads": 4}'] [--drain-timeout-ms 30000]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "adapters/host/cli/commands.h"
#include "plugin_api/include/loom/plugin_host.hpp"

namespace loom::cli {
namespace {

struct ServeArgs {
  std::string backend, model, endpoint, proxy, config_json = "{}";
  int64_t drain_timeout_ms = 30000;
};

// The --config-json object with the flags laid over it (flags win).
std::string build_config(const ServeArgs& a) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(a.config_json);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(std::string("--config-json is not valid JSON: ") + e.what());
  }
  if (!config.is_object()) throw std::invalid_argument("--config-json must be a JSON object");
  if (!a.model.empty()) config["model"] = a.model;
  if (!a.endpoint.empty()) config["endpoint"] = a.endpoint;
  if (!a.proxy.empty()) config["proxy"] = a.proxy;
  if (!config.contains("endpoint") && !config.contains("proxy"))
    throw std::invalid_argument("serve needs --endpoint (bind) or --proxy (worker mode)");
  return config.dump();
}

// Blocks SIGTERM/SIGINT in this thread, and so in every thread created after
// it (the plugin's), so that wait_for_stop_signal() alone receives them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void run_serve(const ServeArgs& args) {
  const sigset_t stop = block_stop_signals();
  const std::string config = build_config(args);
  auto lib = plugin_host::Library::open(args.backend);
  const loom_plugin_api& api = lib->api();
  std::fprintf(stderr, "loom serve: %s (ABI %u.%u): %s\n", api.backend_name, api.abi_major, api.abi_minor,
               api.build_info);
  std::fprintf(stderr, "loom serve: probe: %s\n", lib->probe().device);
  plugin_host::Backend backend = lib->create(config);
  backend.start();
  const auto stats = nlohmann::json::parse(backend.stats_json());
  std::fprintf(stderr, "loom serve: serving on %s\n", stats["endpoint"].value("address", "?").c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "loom serve: %s: draining (up to %lld ms)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               static_cast<long long>(args.drain_timeout_ms));
  backend.drain(std::chrono::milliseconds(args.drain_timeout_ms));
  std::fprintf(stderr, "loom serve: drained, %lld jobs finished\n",
               static_cast<long long>(nlohmann::json::parse(backend.stats_json())["jobs_finished"].get<int64_t>()));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "host a backend plugin and serve its ZeroMQ endpoint until SIGTERM");
  cmd->add_option("--backend", args->backend, "path of the backend plugin, e.g. build/lib/libloom_cpu.so")
      ->required();
  cmd->add_option("-m,--model", args->model, "model file (the config's \"model\")");
  cmd->add_option("--endpoint", args->endpoint, "ZeroMQ address to bind, e.g. ipc:///tmp/loom.sock");
  cmd->add_option("--proxy", args->proxy, "worker mode: connect to this loom proxy instead of binding");
  cmd->add_option("--config-json", args->config_json, "more config keys as a JSON object (see plugin_api/ABI.md)");
  cmd->add_option("--drain-timeout-ms", args->drain_timeout_ms, "how long jobs in flight may finish on stop")
      ->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace loom::cli
