// loom serve: host a backend plugin (.so) and serve it through its doors
// until SIGTERM or SIGINT, then drain. The doors live here, in the host, over
// the backend's C ABI (PluginEngine), so each door works with every backend.
//   loom serve --backend build/lib/libloom_cpu.so --model M --endpoint ipc:///tmp/loom.sock
//              [--proxy tcp://...] [--config-json '{"threads": 4}'] [--drain-timeout-ms 30000]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/zmq/endpoint.h"

namespace loom::cli {
namespace {

struct ServeArgs {
  BackendOptions backend;
  std::string endpoint, proxy;
  int64_t drain_timeout_ms = 30000;
};

// Blocks SIGTERM/SIGINT in this thread, and so in every thread created after
// it (the plugin's), so that sigwait() alone receives them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

EndpointOptions endpoint_options(const ServeArgs& args, const PluginEngine& engine) {
  if (args.endpoint.empty() == args.proxy.empty())
    throw std::invalid_argument("serve needs exactly one of --endpoint (bind) or --proxy (worker mode)");
  EndpointOptions options;
  options.address = args.endpoint;
  options.proxy_address = args.proxy;
  options.worker_name = std::string("loom-") + engine.api().backend_name;
  const auto config = nlohmann::json::parse(backend_config(args.backend));
  options.worker_capacity = config.value("max_num_seqs", 32);
  return options;
}

// Stops both: the endpoint stops accepting while the engine finishes what is
// in flight; past the timeout the engine cancels the rest and the endpoint
// forwards those terminal events before closing its socket.
void drain_all(ZmqEndpoint& endpoint, PluginEngine& engine, std::chrono::milliseconds timeout) {
  std::thread endpoint_drain([&] { endpoint.drain(timeout); });
  engine.drain(timeout);
  endpoint_drain.join();
}

void run_serve(const ServeArgs& args) {
  const sigset_t stop = block_stop_signals();
  auto engine = open_engine(args.backend, "loom serve");
  std::unique_ptr<ZmqEndpoint> endpoint;
  try {
    endpoint = std::make_unique<ZmqEndpoint>(*engine, endpoint_options(args, *engine));
  } catch (const ZmqEndpointError& e) {
    throw std::runtime_error("cannot serve '" + (args.proxy.empty() ? args.endpoint : args.proxy) + "': " + e.what());
  }
  std::fprintf(stderr, "loom serve: serving on %s\n", endpoint->address().c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "loom serve: %s: draining (up to %lld ms)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               static_cast<long long>(args.drain_timeout_ms));
  drain_all(*endpoint, *engine, std::chrono::milliseconds(args.drain_timeout_ms));
  std::fprintf(stderr, "loom serve: drained, %lld jobs finished\n", static_cast<long long>(engine->stats().jobs_finished));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "host a backend plugin and serve it over ZeroMQ until SIGTERM");
  add_backend_options(*cmd, args->backend);
  cmd->add_option("--endpoint", args->endpoint, "ZeroMQ address to bind, e.g. ipc:///tmp/loom.sock");
  cmd->add_option("--proxy", args->proxy, "worker mode: connect to this loom proxy instead of binding");
  cmd->add_option("--drain-timeout-ms", args->drain_timeout_ms, "how long jobs in flight may finish on stop")
      ->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace loom::cli
