// The HTTP door's flags, shared by `loom serve --http` and `loom http`.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "adapters/http/server.h"

namespace loom::cli {

struct HttpFlags {
  std::string listen;   // HOST:PORT; empty: no HTTP door
  std::string api_key;  // else LOOM_API_KEY
  int threads = 2;
  size_t max_body_bytes = 4 << 20;
};

// Registers `flag` (--http or --listen) and the door's other options.
void add_http_flags(CLI::App& cmd, HttpFlags& flags, const char* flag);
// Throws std::invalid_argument for a listen address that is not HOST:PORT.
http::ServerOptions http_server_options(const HttpFlags& flags);

}  // namespace loom::cli
