#include "adapters/http/server.h"

#include <stdexcept>

#include "adapters/http/generation.h"
#include "adapters/http/server_core.h"
#include "adapters/http/session.h"

namespace loom::http {
namespace {

void accept_next(const std::shared_ptr<HttpServer::Core>& core) {
  core->acceptor.async_accept(net::make_strand(core->ioc), [core](boost::system::error_code ec, net::ip::tcp::socket s) {
    if (core->stopped) return;
    if (!ec) {
      boost::system::error_code ignored;
      s.set_option(net::ip::tcp::no_delay(true), ignored);  // SSE frames are small: no Nagle delay per token
      std::make_shared<Session>(*core, std::move(s))->start();
    }
    accept_next(core);
  });
}

}  // namespace

HttpServer::HttpServer(EngineApi& engine, ServerOptions options)
    : core_(std::make_shared<Core>(engine, std::move(options))) {
  const auto& o = core_->options;
  boost::system::error_code ec;
  const auto addr = net::ip::make_address(o.host, ec);
  if (ec) throw std::runtime_error("http: bad listen address '" + o.host + "': " + ec.message());
  const net::ip::tcp::endpoint ep(addr, o.port);
  auto& a = core_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("http: cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());
  accept_next(core_);
  for (int i = 0; i < std::max(1, o.threads); ++i) core_->threads.emplace_back([core = core_.get()] { core->ioc.run(); });
}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return core_->acceptor.local_endpoint().port(); }

void HttpServer::set_draining(bool draining) { core_->draining = draining; }

void HttpServer::stop() {
  if (core_->stopped.exchange(true)) return;
  net::post(core_->ioc, [core = core_] {
    boost::system::error_code ignored;
    core->acceptor.close(ignored);
  });
  // Jobs of open connections end now; their terminal events are only bookkeeping.
  for (const auto& id : core_->jobs_in_flight()) core_->engine.cancel(id);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (core_->jobs_in_flight_count() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  core_->ioc.stop();
  for (auto& t : core_->threads) t.join();
  core_->threads.clear();
  // Run what completed meanwhile (the aborted accept drops its hold on the core).
  core_->ioc.restart();
  core_->ioc.poll();
  // Generations still waiting for the engine let go of their connections now,
  // while ioc lives; their late events find nothing (see Core::adopt).
  for (const auto& g : core_->take_generations()) g->abandon();
}

}  // namespace loom::http
