// loom proxy: the broker that spreads jobs over backend workers
// (adapters/proxy). Options are the broker's own (`loom proxy --help-proxy`).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "adapters/host/cli/commands.h"
#include "adapters/proxy/proxy.h"
#include "adapters/proxy/proxy_args.h"

namespace loom::cli {
namespace {

void run_proxy_command(const std::vector<std::string>& args) {
  // Block SIGTERM/SIGINT/SIGHUP for the proxy's threads; a waiter thread
  // turns the first stop signal into the stop flag (the proxy drains) and
  // each SIGHUP into a re-read of the CURVE key directories.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  static std::atomic<bool> stop{false};
  static std::atomic<const Proxy*> bound{nullptr};
  std::thread waiter([&set] {
    for (;;) {
      int sig = 0;
      sigwait(&set, &sig);
      if (sig != SIGHUP) break;
      if (const Proxy* p = bound.load()) p->request_reload();
    }
    stop = true;
  });
  waiter.detach();
  run_proxy(parse_proxy_args(args), stop, [](const Proxy& p) {
    bound = &p;
    std::printf("frontend %s\nbackend %s\n", p.frontend_address().c_str(), p.backend_address().c_str());
    std::fflush(stdout);
  });
  bound = nullptr;
}

}  // namespace

void add_proxy_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("proxy", "broker: clients connect to --frontend, backends (loom serve --proxy) to --backend");
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->footer(proxy_usage());
  cmd->callback([cmd] { run_proxy_command(cmd->remaining()); });
}

}  // namespace loom::cli
