// loom-proxy [flags]: the broker as a standalone process (proxy_args.h for
// the flags). Prints "frontend ADDR" and "backend ADDR" on stdout once bound,
// serves until SIGTERM/SIGINT, drains, exits 0. Logs (spdlog) go to stderr.
#include <csignal>
#include <cstdio>
#include <cstring>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "adapters/proxy/proxy.h"
#include "adapters/proxy/proxy_args.h"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<const loom::Proxy*> g_proxy{nullptr};
void on_signal(int) { g_stop.store(true); }  // lock-free atomic: async-signal-safe
void on_hangup(int) {  // re-read the CURVE key directories: request_reload only sets a flag
  if (const loom::Proxy* p = g_proxy.load()) p->request_reload();
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(loom::proxy_usage(), stdout);
    return 0;
  }
  // Logs go to stderr: stdout carries only the bound addresses.
  spdlog::set_default_logger(spdlog::stderr_color_mt("loom-proxy"));
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_hangup;
  sigaction(SIGHUP, &hup, nullptr);
  try {
    const loom::ProxyOptions options = loom::parse_proxy_args(args);
    loom::run_proxy(options, g_stop, [](const loom::Proxy& proxy) {
      g_proxy = &proxy;
      std::printf("frontend %s\nbackend %s\n", proxy.frontend_address().c_str(), proxy.backend_address().c_str());
      std::fflush(stdout);
    });
    g_proxy = nullptr;
  } catch (const std::exception& e) {
    g_proxy = nullptr;
    std::fprintf(stderr, "loom-proxy: %s\n", e.what());
    return 1;
  }
  return 0;
}
