// Request routing (internal to adapters/http): every route but the two
// generation routes answers at once; those start a Generation.
#pragma once
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <string>

#include "adapters/http/generation.h"
#include "adapters/http/server_core.h"

namespace loom::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

struct Routed {
  std::optional<std::string> response;  // the whole response, or
  std::shared_ptr<Generation> generation;  // one to start
};

Routed route(HttpServer::Core& core, const Request& req, bool keep_alive, std::shared_ptr<Sink> sink,
             net::any_io_executor strand);

}  // namespace loom::http
