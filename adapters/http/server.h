// HttpServer: the OpenAI-compatible HTTP/SSE door over a loom::EngineApi
// (README.md lists the routes). Asio with a small fixed thread pool; each
// connection lives on its own strand; engine callbacks only post events to
// that strand. HTTP/1.1 keep-alive, header and body size limits, a deadline
// for a request's header and another for its body (a slowloris client holds
// a socket, never a thread).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "contract/engine_api.h"

namespace loom::http {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  uint16_t port = 8000;            // 0: any free port (see HttpServer::port)
  int threads = 2;
  size_t max_body_bytes = 4 << 20;     // past it: 413
  size_t max_header_bytes = 16 << 10;  // past it: 431
  std::chrono::milliseconds header_timeout{10000};  // from connect / last response to the end of the header
  std::chrono::milliseconds body_timeout{30000};    // from the end of the header to the end of the body
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive: a quiet connection closes after it
  size_t max_pending_output_bytes = 8 << 20;        // a client not reading its stream: gone
  std::string api_key;  // non-empty: /v1/* need "Authorization: Bearer <api_key>"
};

class HttpServer {
 public:
  // Binds and starts serving; throws std::runtime_error when the address
  // cannot be used. `engine` must outlive the server.
  HttpServer(EngineApi& engine, ServerOptions options);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // /health answers 503 from now on (the engine refuses new jobs itself).
  void set_draining(bool draining);
  // Stops accepting, cancels the jobs of open connections, waits briefly for
  // their terminal events, closes everything. Idempotent.
  void stop();

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace loom::http
