#include "adapters/proxy/proxy_args.h"

#include <charconv>
#include <functional>
#include <map>

namespace loom {

namespace {

int64_t parse_int(const std::string& flag, const std::string& value, int64_t min) {
  int64_t out = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || out < min) {
    throw ProxyError(flag + " expects an integer >= " + std::to_string(min) + ", got \"" + value + "\"");
  }
  return out;
}

using Setter = std::function<void(ProxyOptions&, const std::string& flag, const std::string& value)>;

Setter ms(std::chrono::milliseconds ProxyOptions::*field, int64_t min) {
  return [=](ProxyOptions& o, const std::string& f, const std::string& v) {
    o.*field = std::chrono::milliseconds(parse_int(f, v, min));
  };
}
Setter count(size_t ProxyOptions::*field) {
  return [=](ProxyOptions& o, const std::string& f, const std::string& v) {
    o.*field = static_cast<size_t>(parse_int(f, v, 1));
  };
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"--frontend", [](ProxyOptions& o, const std::string&, const std::string& v) { o.frontend = v; }},
      {"--backend", [](ProxyOptions& o, const std::string&, const std::string& v) { o.backend = v; }},
      {"--curve-secret", [](ProxyOptions& o, const std::string&, const std::string& v) { o.frontend_curve_secret = v; }},
      {"--curve-clients", [](ProxyOptions& o, const std::string&, const std::string& v) { o.frontend_curve_clients = v; }},
      {"--backend-curve-secret",
       [](ProxyOptions& o, const std::string&, const std::string& v) { o.backend_curve_secret = v; }},
      {"--backend-curve-clients",
       [](ProxyOptions& o, const std::string&, const std::string& v) { o.backend_curve_clients = v; }},
      {"--heartbeat-ms", ms(&ProxyOptions::heartbeat, 1)},
      {"--heartbeat-timeout-ms", ms(&ProxyOptions::heartbeat_timeout, 0)},
      {"--queue-ms", ms(&ProxyOptions::queue_timeout, 0)},
      {"--keepalive-ms", ms(&ProxyOptions::keepalive, 1)},
      {"--drain-ms", ms(&ProxyOptions::drain_timeout, 0)},
      {"--max-queued", count(&ProxyOptions::max_queued)},
      {"--max-jobs", count(&ProxyOptions::max_jobs_in_flight)},
      {"--max-jobs-per-client", count(&ProxyOptions::max_jobs_per_client)},
      {"--max-workers", count(&ProxyOptions::max_workers)},
  };
  return table;
}

}  // namespace

ProxyOptions parse_proxy_args(const std::vector<std::string>& args) {
  ProxyOptions options;
  for (size_t i = 0; i < args.size(); i += 2) {
    auto it = setters().find(args[i]);
    if (it == setters().end()) throw ProxyError("unknown flag \"" + args[i] + "\"\n" + proxy_usage());
    if (i + 1 >= args.size()) throw ProxyError(args[i] + " needs a value");
    it->second(options, args[i], args[i + 1]);
  }
  return options;
}

const char* proxy_usage() {
  return "loom proxy flags (all optional):\n"
         "  --frontend ADDR              clients connect here (default tcp://127.0.0.1:5555)\n"
         "  --backend ADDR               workers connect here (default tcp://127.0.0.1:5556)\n"
         "  --curve-secret F             frontend is a CURVE server with this NAME.key_secret ...\n"
         "  --curve-clients DIR          ... admitting the clients whose NAME.key is in DIR (re-read on SIGHUP)\n"
         "  --backend-curve-secret F     the same for the workers' side\n"
         "  --backend-curve-clients DIR  (workers: loom serve --proxy ... --curve-server-public --curve-secret)\n"
         "  --heartbeat-ms N             heartbeat interval, both ways (default 1000)\n"
         "  --heartbeat-timeout-ms N     worker silent this long is dead (default 5 x interval)\n"
         "  --queue-ms N                 max wait for a free worker when all are busy (default 1000; 0: no queue)\n"
         "  --max-queued N               queue length (default 1024)\n"
         "  --keepalive-ms N             client keep-alive (default 10000)\n"
         "  --drain-ms N                 on SIGTERM, wait this long for jobs in flight (default 10000)\n"
         "  --max-jobs N                 jobs in flight, proxy-wide (default 4096)\n"
         "  --max-jobs-per-client N      (default 1024)\n"
         "  --max-workers N              (default 256)\n";
}

}  // namespace loom
