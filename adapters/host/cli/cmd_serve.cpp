// loom serve: host a backend plugin (.so) and serve it through its doors
// until SIGTERM or SIGINT, then drain. When the backend fails fatally
// (health "failed: ..."), every job has already ended with its error; the
// doors flush those and the process exits non-zero, so a supervisor or the
// proxy (which sees this worker drain, then go) routes around it. The doors live here, in the host, over
// the backend's C ABI (PluginEngine), so each door works with every backend.
//   loom serve --backend build/lib/libloom_cpu.so --model M --endpoint ipc:///tmp/loom.sock
//              [--proxy tcp://...] [--config-json '{"threads": 4}'] [--drain-timeout-ms 30000]
//              [--vllm-engine tcp://127.0.0.1:29550]   (engine of a vLLM 0.33.0 frontend)
//              [--http 127.0.0.1:8000 [--api-key K]]     (the OpenAI-compatible HTTP door)
//              [--backend-next SO [--config-json-next JSON]]  (SIGHUP: swap backends, doors stay up)
//              [--curve-secret S.key_secret --curve-clients DIR | --insecure] [--ipc-mode 0660]
//   (worker mode with CURVE: --proxy ADDR --curve-server-public B.key --curve-secret W.key_secret)
// SIGHUP re-reads --curve-clients and, with --backend-next, swaps the backend.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/http_options.h"
#include "adapters/host/cli/serve_doors.h"
#include "adapters/http/server.h"
#include "adapters/zmq/bind_policy.h"
#include "adapters/zmq/endpoint.h"

namespace loom::cli {
namespace {

struct ServeArgs {
  BackendOptions backend;
  std::string endpoint, proxy;
  std::string vllm_engine;  // a vLLM frontend's handshake address
  HttpFlags http;           // --http: the OpenAI-compatible door
  std::string backend_next, config_json_next;  // SIGHUP swaps to these (and back)
  int64_t drain_timeout_ms = 30000;
  std::string curve_secret, curve_clients, curve_server_public, ipc_mode = "0600";
  bool insecure = false;
};

// Blocks SIGTERM/SIGINT/SIGHUP in this thread, and so in every thread created
// after it (the plugin's), so that sigwait() alone receives them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

unsigned parse_ipc_mode(const std::string& text) {
  size_t used = 0;
  unsigned long mode = 0;
  try {
    mode = std::stoul(text, &used, 8);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || mode > 0777)
    throw std::invalid_argument("--ipc-mode expects an octal file mode such as 0600 or 0660, got \"" + text + "\"");
  return static_cast<unsigned>(mode);
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
  options.curve_secret = args.curve_secret;
  options.curve_clients_dir = args.curve_clients;
  options.curve_server_public = args.curve_server_public;
  options.insecure = args.insecure;
  options.ipc_mode = parse_ipc_mode(args.ipc_mode);
  return options;
}

// Stops both: the endpoint stops accepting while the engine finishes what is
// in flight; past the timeout the engine cancels the rest and the endpoint
// forwards those terminal events before closing its socket.
// The HTTP door answers 503 on /health and refuses new jobs from the start;
// its streams end with the engine's terminal events.
void drain_all(ZmqEndpoint* endpoint, VllmDoor* vllm, http::HttpServer* http, SwappableEngine& engine,
               std::chrono::milliseconds timeout) {
  if (http) http->set_draining(true);
  std::thread endpoint_drain([&] {
    if (endpoint) endpoint->drain(timeout);
  });
  std::thread vllm_drain([&] {
    if (vllm) vllm->drain(timeout);  // then ENGINE_CORE_DEAD
  });
  engine.drain(timeout);
  endpoint_drain.join();
  vllm_drain.join();
  if (http) http->stop();
}

// A SIGHUP re-reads the endpoint's client keys (a no-op without CURVE); a bad
// key file keeps the old keys.
void reload_client_keys(ZmqEndpoint& endpoint) {
  try {
    endpoint.reload_curve_clients();
    std::fprintf(stderr, "loom serve: SIGHUP: client keys re-read\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom serve: SIGHUP: %s; keeping the old keys\n", e.what());
  }
}

// Waits for SIGTERM/SIGINT; on SIGHUP re-reads client keys and swaps the
// backend when there is a --backend-next. Returns 0 early when the vLLM door
// declared the engine dead (it already sent ENGINE_CORE_DEAD).
int wait_for_stop(const sigset_t& stop, ZmqEndpoint* curve_endpoint, const VllmDoor* vllm, SwapPlan& plan,
                  SwappableEngine& engine) {
  const timespec tick{1, 0};
  for (;;) {
    const int sig = sigtimedwait(&stop, nullptr, &tick);
    if (sig == SIGHUP) {
      if (curve_endpoint) reload_client_keys(*curve_endpoint);
      if (!plan.next_backend.empty()) swap_backends(plan, engine);
      if (!curve_endpoint && plan.next_backend.empty())
        std::fprintf(stderr, "loom serve: SIGHUP ignored (no --curve-clients, no --backend-next)\n");
    } else if (sig > 0) {
      return sig;
    }
    if (vllm && vllm->dead()) return 0;
  }
}

// Polls the engine's health; on a fatal failure records the cause and wakes
// the main thread's sigwait with SIGTERM.
class FailureWatch {
 public:
  explicit FailureWatch(const EngineApi& engine)
      : thread_([this, &engine] {
          while (!stop_.load()) {
            const EngineHealth h = engine.health();
            if (h.detail.rfind("failed:", 0) == 0) {
              cause_ = h.detail;
              failed_ = true;
              kill(getpid(), SIGTERM);
              return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }) {}
  ~FailureWatch() {
    stop_ = true;
    thread_.join();
  }
  bool failed() const { return failed_.load(); }
  const std::string& cause() const { return cause_; }

 private:
  std::atomic<bool> stop_{false}, failed_{false};
  std::string cause_;
  std::thread thread_;
};

void run_serve(const ServeArgs& args) {
  const sigset_t stop = block_stop_signals();
  if (args.endpoint.empty() && args.proxy.empty() && args.vllm_engine.empty() && args.http.listen.empty())
    throw std::invalid_argument("serve needs --endpoint (bind), --proxy (worker mode), --vllm-engine or --http");
  // Refused before the model loads: the answer comes at once.
  if (!args.endpoint.empty() || !args.proxy.empty())
    check_clear_bind(args.proxy.empty() ? args.endpoint : args.proxy, !args.curve_secret.empty(), args.insecure);
  auto engine = std::make_unique<SwappableEngine>(open_engine(args.backend, "loom serve"));
  std::unique_ptr<ZmqEndpoint> endpoint;
  if (!args.endpoint.empty() || !args.proxy.empty()) {
    try {
      endpoint = std::make_unique<ZmqEndpoint>(*engine, endpoint_options(args, engine->current()));
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
  auto vllm = open_vllm_door(args.vllm_engine, args.backend, *engine);
  SwapPlan plan{args.backend, args.backend_next, args.config_json_next, args.drain_timeout_ms};
  FailureWatch watch(*engine);
  const int sig = wait_for_stop(stop, args.curve_clients.empty() ? nullptr : endpoint.get(), vllm.get(), plan, *engine);
  if (sig == 0) {
    std::fprintf(stderr, "loom serve: the vLLM door declared the engine dead; stopping\n");
    drain_all(endpoint.get(), nullptr, http.get(), *engine, std::chrono::milliseconds(0));
    throw std::runtime_error("the engine stopped making progress");
  }
  if (watch.failed()) {
    std::fprintf(stderr, "loom serve: the backend %s; flushing the terminal messages and exiting\n",
                 watch.cause().c_str());
    drain_all(endpoint.get(), vllm.get(), http.get(), *engine, std::chrono::milliseconds(1000));  // vLLM: ENGINE_CORE_DEAD
    throw std::runtime_error("backend " + watch.cause());
  }
  std::fprintf(stderr, "loom serve: %s: draining (up to %lld ms)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               static_cast<long long>(args.drain_timeout_ms));
  drain_all(endpoint.get(), vllm.get(), http.get(), *engine, std::chrono::milliseconds(args.drain_timeout_ms));
  std::fprintf(stderr, "loom serve: drained, %lld jobs finished\n", static_cast<long long>(engine->stats().jobs_finished));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "host a backend plugin and serve it over ZeroMQ, HTTP or as a vLLM engine until SIGTERM");
  add_backend_options(*cmd, args->backend);
  cmd->add_option("--endpoint", args->endpoint, "ZeroMQ address to bind, e.g. ipc:///tmp/loom.sock");
  cmd->add_option("--proxy", args->proxy, "worker mode: connect to this loom proxy instead of binding");
  add_http_flags(*cmd, args->http, "--http");
  cmd->add_option("--vllm-engine", args->vllm_engine,
                  "be data-parallel engine 0 of a `vllm serve` frontend started with --data-parallel-size-local 0; "
                  "its handshake address, e.g. tcp://127.0.0.1:29550 (supports vLLM 0.33.0 only)");
  cmd->add_option("--backend-next", args->backend_next,
                  "on SIGHUP, drain the backend, unload it and load this one (the doors stay up; SIGHUP again swaps back)");
  cmd->add_option("--config-json-next", args->config_json_next, "the --config-json of --backend-next (default: the same)");
  cmd->add_option("--drain-timeout-ms", args->drain_timeout_ms, "how long jobs in flight may finish on stop")
      ->capture_default_str();
  cmd->add_option("--curve-secret", args->curve_secret,
                  "CURVE: this server's (or, with --proxy, this worker's) NAME.key_secret (loom keygen)");
  cmd->add_option("--curve-clients", args->curve_clients,
                  "CURVE: directory of admitted clients' NAME.key files (re-read on SIGHUP)");
  cmd->add_option("--curve-server-public", args->curve_server_public,
                  "CURVE worker mode: the proxy backend's public NAME.key");
  cmd->add_flag("--insecure", args->insecure,
                "serve a tcp:// address other machines can reach without CURVE (clear text, any peer)");
  cmd->add_option("--ipc-mode", args->ipc_mode, "file mode of an ipc:// socket (octal)")->capture_default_str();
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace loom::cli
