// loom http: the OpenAI-compatible HTTP gateway in front of a ZeroMQ v1
// endpoint (`loom serve --endpoint`) or a `loom proxy` frontend, so many
// workers sit behind one HTTP port.
//   loom http --listen 127.0.0.1:8000 --connect ipc:///tmp/loom.sock [--api-key KEY] [--threads 2]
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/http_options.h"
#include "adapters/http/server.h"
#include "adapters/zmq/remote_engine.h"

namespace loom::cli {
namespace {

struct GatewayArgs {
  HttpFlags http{.listen = "127.0.0.1:8000"};
  std::string connect;
  int64_t timeout_ms = 10000;
};

void run_gateway(const GatewayArgs& args) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  RemoteEngine engine({.endpoint = args.connect, .timeout = std::chrono::milliseconds(args.timeout_ms)});
  http::HttpServer server(engine, http_server_options(args.http));
  std::fprintf(stderr, "loom http: serving http://%s:%u in front of %s\n", http_server_options(args.http).host.c_str(),
               server.port(), args.connect.c_str());
  int sig = 0;
  sigwait(&stop, &sig);
  std::fprintf(stderr, "loom http: %s: stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.set_draining(true);
  server.stop();
}

}  // namespace

void add_http_command(CLI::App& app) {
  auto args = std::make_shared<GatewayArgs>();
  auto* cmd = app.add_subcommand("http", "OpenAI-compatible HTTP gateway in front of a loom serve or loom proxy");
  cmd->add_option("--connect", args->connect, "ZeroMQ address of a loom serve endpoint or a loom proxy frontend")
      ->required();
  add_http_flags(*cmd, args->http, "--listen");  // default 127.0.0.1:8000 (GatewayArgs)
  cmd->add_option("--timeout-ms", args->timeout_ms, "how long to wait for the backend's answer to a request")
      ->capture_default_str();
  cmd->callback([args] { run_gateway(*args); });
}

}  // namespace loom::cli
