#include "adapters/http/routes.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "adapters/http/http_wire.h"
#include "adapters/http/response.h"

namespace loom::http {
namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::json;

std::string json_reply(int status, const std::string& body, bool keep_alive, const Headers& extra = {}) {
  return http_response(status, "application/json", body, keep_alive, extra);
}

std::string error_reply(const HttpError& e, bool keep_alive) {
  Headers extra;
  if (e.retry_after_s > 0) extra.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  return json_reply(e.status, error_body(e), keep_alive, extra);
}

HttpError simple_error(int status, std::string type, std::string code, std::string message) {
  HttpError e;
  e.status = status;
  e.type = std::move(type);
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// Every byte compared: how much of a key matched does not show in the timing.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}

bool authorized(const HttpServer::Core& core, const Request& req) {
  if (core.options.api_key.empty()) return true;
  const std::string_view auth = sv(req[bhttp::field::authorization]);
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.substr(0, kBearer.size()) != kBearer) return false;
  return same_secret(auth.substr(kBearer.size()), core.options.api_key);
}

std::string health(HttpServer::Core& core, bool keep_alive) {
  if (core.draining) return json_reply(503, R"({"status":"draining"})", keep_alive);
  EngineHealth h;
  try {
    h = core.engine.health();
  } catch (const std::exception& e) {
    h.ok = false;
    h.detail = e.what();
  }
  if (!h.ok) return json_reply(503, json{{"status", "unhealthy"}, {"detail", h.detail}}.dump(-1, ' ', false, json::error_handler_t::replace), keep_alive);
  return json_reply(200, json{{"status", "ok"}, {"detail", h.detail}}.dump(-1, ' ', false, json::error_handler_t::replace), keep_alive);
}

std::string metrics(HttpServer::Core& core, bool keep_alive) {
  EngineStats stats;
  try {
    stats = core.engine.stats();
  } catch (const std::exception& e) {
    return error_reply(simple_error(503, "service_unavailable", "unavailable", e.what()), keep_alive);
  }
  return http_response(200, "text/plain; version=0.0.4; charset=utf-8", core.metrics().render(stats, core.model_name()),
                       keep_alive);
}

std::string models(HttpServer::Core& core, bool keep_alive) {
  auto m = core.model();
  if (!m) return error_reply(simple_error(503, "service_unavailable", "unavailable", "the engine is not reachable"), keep_alive);
  return json_reply(200, models_body(m->name, static_cast<int64_t>(std::time(nullptr)), m->max_context), keep_alive);
}

std::string tokenize(HttpServer::Core& core, const Request& req, bool keep_alive) {
  auto mapped = map_tokenize(req.body());
  if (auto* e = std::get_if<HttpError>(&mapped)) return error_reply(*e, keep_alive);
  const auto& t = std::get<TokenizeRequest>(mapped);
  try {
    // As the engine tokenizes a text prompt: special tokens in the text stay text.
    const auto ids = core.engine.tokenize(t.prompt, t.add_special, /*parse_special=*/false);
    auto m = core.model();
    return json_reply(200, json{{"count", ids.size()}, {"max_model_len", m ? m->max_context : 0}, {"tokens", ids}}.dump(),
                      keep_alive);
  } catch (const EngineInputError& e) {
    return error_reply(bad_request("prompt", e.what()), keep_alive);
  } catch (const std::exception& e) {
    return error_reply(simple_error(503, "service_unavailable", "unavailable", e.what()), keep_alive);
  }
}

std::string detokenize(HttpServer::Core& core, const Request& req, bool keep_alive) {
  auto mapped = map_detokenize(req.body());
  if (auto* e = std::get_if<HttpError>(&mapped)) return error_reply(*e, keep_alive);
  try {
    const std::string text = core.engine.detokenize(std::get<DetokenizeRequest>(mapped).tokens);
    return json_reply(200, json{{"prompt", text}}.dump(-1, ' ', false, json::error_handler_t::replace), keep_alive);
  } catch (const EngineInputError& e) {
    return error_reply(bad_request("tokens", e.what()), keep_alive);
  } catch (const std::exception& e) {
    return error_reply(simple_error(503, "service_unavailable", "unavailable", e.what()), keep_alive);
  }
}

Routed generate(HttpServer::Core& core, const Request& req, Api api, bool keep_alive, std::shared_ptr<Sink> sink,
                net::any_io_executor strand) {
  if (core.draining)
    return {error_reply(simple_error(503, "service_unavailable", "unavailable", "the server is draining"), keep_alive), {}};
  MapResult mapped = map_request(req.body(), api);
  if (auto* e = std::get_if<HttpError>(&mapped)) return {error_reply(*e, keep_alive), {}};
  auto& request = std::get<MappedRequest>(mapped);
  auto m = core.model();
  if (!m) return {error_reply(simple_error(503, "service_unavailable", "unavailable", "the engine is not reachable"), keep_alive), {}};
  if (!request.model.empty() && request.model != m->name) {
    HttpError e = simple_error(404, "NotFoundError", "model_not_found",
                               "The model '" + request.model + "' does not exist; this server has '" + m->name + "'.");
    e.param = "model";
    return {error_reply(e, keep_alive), {}};
  }
  ResponseMeta meta;
  meta.api = api;
  meta.id = std::string(api == Api::kChat ? "chatcmpl-" : "cmpl-") + std::to_string(core.next_id++);
  meta.created = static_cast<int64_t>(std::time(nullptr));
  meta.model = m->name;
  meta.logprobs = request.logprobs;
  meta.top_logprobs = request.top_logprobs;
  return {std::nullopt, std::make_shared<Generation>(core, std::move(request), std::move(meta), keep_alive,
                                                     std::move(sink), std::move(strand))};
}

struct RouteEntry {
  std::string_view path;
  bhttp::verb method;
};
constexpr RouteEntry kRoutes[] = {
    {"/v1/completions", bhttp::verb::post}, {"/v1/chat/completions", bhttp::verb::post},
    {"/v1/models", bhttp::verb::get},       {"/health", bhttp::verb::get},
    {"/metrics", bhttp::verb::get},         {"/tokenize", bhttp::verb::post},
    {"/detokenize", bhttp::verb::post},
};

}  // namespace

Routed route(HttpServer::Core& core, const Request& req, bool keep_alive, std::shared_ptr<Sink> sink,
             net::any_io_executor strand) {
  std::string_view path = sv(req.target());
  path = path.substr(0, path.find('?'));
  const RouteEntry* entry = nullptr;
  for (const auto& r : kRoutes)
    if (r.path == path) entry = &r;
  if (!entry)
    return {error_reply(simple_error(404, "NotFoundError", "not_found", "no route " + std::string(path)), keep_alive), {}};
  if (req.method() != entry->method) {
    const char* allowed = entry->method == bhttp::verb::get ? "GET" : "POST";
    return {json_reply(405,
                       error_body(simple_error(405, "invalid_request_error", "method_not_allowed",
                                               std::string(path) + " allows " + allowed + " only")),
                       keep_alive, {{"Allow", allowed}}),
            {}};
  }
  if (path.substr(0, 4) == "/v1/" && !authorized(core, req))
    return {error_reply(simple_error(401, "authentication_error", "invalid_api_key", "missing or wrong API key"),
                        keep_alive),
            {}};
  if (path == "/v1/completions") return generate(core, req, Api::kCompletions, keep_alive, sink, strand);
  if (path == "/v1/chat/completions") return generate(core, req, Api::kChat, keep_alive, sink, strand);
  if (path == "/v1/models") return {models(core, keep_alive), {}};
  if (path == "/health") return {health(core, keep_alive), {}};
  if (path == "/metrics") return {metrics(core, keep_alive), {}};
  if (path == "/tokenize") return {tokenize(core, req, keep_alive), {}};
  return {detokenize(core, req, keep_alive), {}};
}

}  // namespace loom::http
