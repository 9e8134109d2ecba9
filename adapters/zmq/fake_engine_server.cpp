// loom_zmq_fake_server ADDRESS [STEP_US] [KEEPALIVE_MS]: a ZmqEndpoint over
// FakeEngine, for the Python client's tests and the benchmark. Prints the
// bound address on stdout, then serves until stdin closes or SIGTERM.
// Worker mode (tests/proxy): `--proxy ADDR [--name N] [--capacity C]
// [--heartbeat-ms H]` anywhere on the line connects to a `loom proxy` at ADDR
// instead of binding; ADDRESS is then omitted. CURVE: `--curve-secret F
// --curve-clients DIR` (bind), `--curve-secret F --curve-server-public F`
// (worker); SIGHUP re-reads DIR; `--insecure` allows a reachable clear bind.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;
void on_signal(int) { g_stop = 1; }
void on_hangup(int) { g_reload = 1; }

// Takes the worker-mode flags out of argv; returns the positional arguments.
std::vector<const char*> take_worker_flags(int argc, char** argv, loom::EndpointOptions& options) {
  std::vector<const char*> positional;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (has_value && !std::strcmp(argv[i], "--proxy")) options.proxy_address = argv[++i];
    else if (has_value && !std::strcmp(argv[i], "--name")) options.worker_name = argv[++i];
    else if (has_value && !std::strcmp(argv[i], "--capacity")) options.worker_capacity = std::atoi(argv[++i]);
    else if (has_value && !std::strcmp(argv[i], "--heartbeat-ms")) options.heartbeat = std::chrono::milliseconds(std::atoll(argv[++i]));
    else if (has_value && !std::strcmp(argv[i], "--curve-secret")) options.curve_secret = argv[++i];
    else if (has_value && !std::strcmp(argv[i], "--curve-clients")) options.curve_clients_dir = argv[++i];
    else if (has_value && !std::strcmp(argv[i], "--curve-server-public")) options.curve_server_public = argv[++i];
    else if (!std::strcmp(argv[i], "--insecure")) options.insecure = true;
    else positional.push_back(argv[i]);
  }
  if (!options.proxy_address.empty()) positional.insert(positional.begin(), "");  // no ADDRESS
  return positional;
}
}  // namespace

int main(int argc, char** argv) {
  loom::EndpointOptions options;
  const std::vector<const char*> args = take_worker_flags(argc, argv, options);
  if (args.empty()) {
    std::fprintf(stderr, "usage: %s ADDRESS|--proxy ADDR [STEP_US] [KEEPALIVE_MS]\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGHUP, on_hangup);
  loom::testing::FakeEngine engine(std::chrono::microseconds(args.size() > 1 ? std::atoll(args[1]) : 0));
  options.address = args[0];
  if (args.size() > 2) options.keepalive = std::chrono::milliseconds(std::atoll(args[2]));
  try {
    loom::ZmqEndpoint endpoint(engine, options);
    std::printf("%s\n", endpoint.address().c_str());
    std::fflush(stdout);
    while (!g_stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (g_reload) {
        g_reload = 0;
        try {
          endpoint.reload_curve_clients();
          std::fprintf(stderr, "reloaded client keys\n");
        } catch (const std::exception& e) {
          std::fprintf(stderr, "reload failed: %s\n", e.what());
        }
      }
    }
    endpoint.drain(std::chrono::seconds(2));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
