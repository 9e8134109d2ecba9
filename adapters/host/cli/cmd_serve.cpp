// loom serve: host a backend plugin (.so) and serve it through its doors
// until SIGTERM or SIGINT, then drain. The doors live here, in the host, over
// the backend's C ABI (PluginEngine), so each door works with every backend.
//   loom serve --backend build/lib/libloom_cpu.so --model M --endpoint ipc:///tmp/loom.sock
//              [--proxy tcp://...] [--http 127.0.0.1:8000 [--api-key K]]
//              [--config-json '{"threads": 4}'] [--drain-timeout-ms 30000]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/http_options.h"
#include "adapters/http/server.h"
#include "adapters/zmq/endpoint.h"

namespace loom::cli {
namespace {

struct ServeArgs {
  BackendOptions backend;
  std::string endpoint, proxy;
  HttpFlags http;  // --http: the OpenAI-compatible door
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
  if (!args.endpoint.empty() && !args.proxy.empty())
    throw std::invalid_argument("serve takes one of --endpoint (bind) or --proxy (worker mode), not both");
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
// The HTTP door answers 503 on /health and refuses new jobs from the start;
// its streams end with the engine's terminal events.
void drain_all(ZmqEndpoint* endpoint, http::HttpServer* http, PluginEngine& engine, std::chrono::milliseconds timeout) {
  if (http) http->set_draining(true);
  std::thread endpoint_drain([&] {
    if (endpoint) endpoint->drain(timeout);
  });
  engine.drain(timeout);
  endpoint_drain.join();
  if (http) http->stop();
}

void run_serve(const ServeArgs& args) {
  const sigset_t stop = block_stop_signals();
  if (args.endpoint.empty() && args.proxy.empty() && args.http.listen.empty())
    throw std::invalid_argument("serve needs --endpoint (bind), --proxy (worker mode) or --http");
  auto engine = open_engine(args.backend, "loom serve");
  std::unique_ptr<ZmqEndpoint> endpoint;
  if (!args.endpoint.empty() || !args.proxy.empty()) {
    try {
      endpoint = std::make_unique<ZmqEndpoint>(*engine, endpoint_options(args, *engine));
    } catch (const ZmqEndpointError& e) {
      throw std::runtime_error("cannot serve '" + (args.proxy.empty() ? args.endpoint : args.proxy) + "': " + e.what());
    }
    std::fprintf(stderr, "loom serve: serving on %s\n", endpoint->address().c_str());
  }
  std::unique_ptr<http::HttpServer> http;
  if (!args.http.listen.empty()) {
    const http::ServerOptions options = http_server_options(args.http);
    http = std::make_unique<http::HttpServer>(*engine, options);
    std::fprintf(stderr, "loom serve: HTTP on http://%s:%u\n", options.host.c_str(), http->port());
  }
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "loom serve: %s: draining (up to %lld ms)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               static_cast<long long>(args.drain_timeout_ms));
  drain_all(endpoint.get(), http.get(), *engine, std::chrono::milliseconds(args.drain_timeout_ms));
  std::fprintf(stderr, "loom serve: drained, %lld jobs finished\n", static_cast<long long>(engine->stats().jobs_finished));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "host a backend plugin and serve it over ZeroMQ and/or HTTP until SIGTERM");
  add_backend_options(*cmd, args->backend);
  cmd->add_option("--endpoint", args->endpoint, "ZeroMQ address to bind, e.g. ipc:///tmp/loom.sock");
  cmd->add_option("--proxy", args->proxy, "worker mode: connect to this loom proxy instead of binding");
  add_http_flags(*cmd, args->http, "--http");
  cmd->add_option("--drain-timeout-ms", args->drain_timeout_ms, "how long jobs in flight may finish on stop")
      ->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace loom::cli
