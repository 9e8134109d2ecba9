#include "adapters/host/cli/http_options.h"

#include <cstdlib>
#include <stdexcept>

namespace loom::cli {

void add_http_flags(CLI::App& cmd, HttpFlags& f, const char* flag) {
  cmd.add_option(flag, f.listen, "HTTP address to listen on, HOST:PORT (loopback unless you say otherwise)");
  cmd.add_option("--api-key", f.api_key, "require 'Authorization: Bearer KEY' on /v1/* (default: $LOOM_API_KEY)");
  cmd.add_option("--http-threads", f.threads, "threads of the HTTP server")->capture_default_str();
  cmd.add_option("--http-max-body", f.max_body_bytes, "largest request body in bytes (413 past it)")
      ->capture_default_str();
}

http::ServerOptions http_server_options(const HttpFlags& f) {
  http::ServerOptions o;
  const size_t colon = f.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == f.listen.size())
    throw std::invalid_argument("HTTP address must be HOST:PORT, got '" + f.listen + "'");
  o.host = f.listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  const std::string port = f.listen.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) throw std::invalid_argument("bad HTTP port '" + port + "'");
  o.port = static_cast<uint16_t>(p);
  o.threads = f.threads;
  o.max_body_bytes = f.max_body_bytes;
  o.api_key = f.api_key;
  if (o.api_key.empty())
    if (const char* env = std::getenv("LOOM_API_KEY")) o.api_key = env;
  return o;
}

}  // namespace loom::cli
