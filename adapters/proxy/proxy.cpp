// The proxy's loop: bind, poll both sockets, timers (heartbeats, dead
// workers, queue deadlines, client keep-alive), stop and drain.
#include "adapters/proxy/proxy.h"

#include <spdlog/spdlog.h>

#include "adapters/proxy/proxy_impl.h"

namespace loom {

namespace zp = zmq_proto;

namespace {

void check_options(const ProxyOptions& o) {
  auto positive = [](std::chrono::milliseconds v, const char* name) {
    if (v.count() <= 0) throw ProxyError(std::string("proxy option ") + name + " must be > 0 ms");
  };
  positive(o.heartbeat, "heartbeat");
  positive(o.keepalive, "keepalive");
  if (o.heartbeat_timeout.count() < 0) throw ProxyError("proxy option heartbeat_timeout must be >= 0 ms");
  if (o.queue_timeout.count() < 0) throw ProxyError("proxy option queue_timeout must be >= 0 ms");
  if (o.drain_timeout.count() < 0) throw ProxyError("proxy option drain_timeout must be >= 0 ms");
  if (o.max_jobs_in_flight == 0 || o.max_jobs_per_client == 0 || o.max_workers == 0) {
    throw ProxyError("proxy options max_jobs_in_flight, max_jobs_per_client and max_workers must be > 0");
  }
  if (o.send_hwm <= 0) throw ProxyError("proxy option send_hwm must be > 0");
  if (o.frontend.empty() || o.backend.empty()) throw ProxyError("proxy needs a frontend and a backend address");
}

std::string bind_router(zmq::socket_t& socket, const std::string& address, const char* role) {
  try {
    socket.bind(address);
    return socket.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    throw ProxyError(std::string("cannot bind the proxy's ") + role + " to " + address + ": " + e.what());
  }
}

}  // namespace

Proxy::Impl::Impl(ProxyOptions options)
    : options_(std::move(options)),
      heartbeat_timeout_(options_.effective_heartbeat_timeout()),
      context_(1),
      frontend_(context_, zmq::socket_type::router),
      backend_(context_, zmq::socket_type::router),
      pool_(options_.max_workers) {
  check_options(options_);
  for (zmq::socket_t* s : {&frontend_, &backend_}) {
    // Unroutable peers fail the send (EHOSTUNREACH) instead of vanishing
    // silently; a full pipe reports EAGAIN. Both are handled per peer.
    s->set(zmq::sockopt::router_mandatory, 1);
    s->set(zmq::sockopt::sndhwm, options_.send_hwm);
    s->set(zmq::sockopt::rcvhwm, options_.send_hwm);
    s->set(zmq::sockopt::linger, 1000);  // let the last terminal messages out on close
  }
  frontend_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.limits.max_frame_bytes) + 4096);
  backend_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_worker_frame_bytes));
  secure_sockets();
  frontend_address_ = bind_router(frontend_, options_.frontend, "frontend");
  backend_address_ = bind_router(backend_, options_.backend, "backend");
}

void Proxy::Impl::run(const std::atomic<bool>& stop) {
  spdlog::info("loom proxy: clients on {}, workers on {}", frontend_address_, backend_address_);
  for (;;) {
    if (stop.load() && !stopping_) begin_stop();
    if (reload_requested_.exchange(false)) reload_keys();
    if (stopping_ && (jobs_total_ == 0 || Clock::now() >= stop_deadline_)) break;
    try {
      poll_once();
    } catch (const std::exception& e) {
      // A bug here must not take every client's stream down with it.
      spdlog::error("loom proxy: loop error: {}", e.what());
    }
    publish();
  }
  finish_remaining();
  publish();
  frontend_.close();  // lingers up to 1 s to deliver the last messages
  backend_.close();
  spdlog::info("loom proxy: stopped");
}

void Proxy::Impl::poll_once() {
  const auto tick = std::clamp<std::chrono::milliseconds>(options_.heartbeat / 4, std::chrono::milliseconds(5),
                                                          std::chrono::milliseconds(100));
  zmq::pollitem_t items[] = {{frontend_.handle(), 0, ZMQ_POLLIN, 0}, {backend_.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 2, tick);
  // Workers first: their replies free capacity for the clients' new jobs.
  if (items[1].revents & ZMQ_POLLIN) read_backend();
  if (items[0].revents & ZMQ_POLLIN) read_frontend();
  on_timer(Clock::now());
}

void Proxy::Impl::on_timer(Clock::time_point now) {
  if (now >= next_heartbeat_) {
    send_heartbeats();
    next_heartbeat_ = now + options_.heartbeat;
  }
  for (const std::string& key : pool_.silent_since(now - heartbeat_timeout_)) kill_worker(key, "heartbeat timeout");
  dispatch_queue(now);
  expire_silent_clients(now);
}

void Proxy::Impl::begin_stop() {
  spdlog::info("loom proxy: stopping; waiting up to {} ms for {} jobs", options_.drain_timeout.count(),
               jobs_total_);
  stopping_ = true;
  stop_deadline_ = Clock::now() + options_.drain_timeout;
}

// Jobs still open at the end of the drain: each gets its one terminal
// message, and its worker is told to stop working on it.
void Proxy::Impl::finish_remaining() {
  fail_queue({ErrorCode::kUnavailable, "", "proxy stopped before the job was routed"});
  std::vector<std::pair<std::string, std::string>> open;
  for (const auto& [client, state] : clients_) {
    for (const auto& [id, route] : state.jobs) open.emplace_back(client, id);
  }
  for (const auto& [client, id] : open) {
    auto& route = clients_.at(client).jobs.at(id);
    send_cancel(route.worker, client, id);
    end_job(client, id);
    ++local_.jobs_unavailable;
    send_client(client, zp::encode_error(id, {ErrorCode::kUnavailable, "", "proxy stopped before the job ended"}));
  }
}

void Proxy::Impl::publish() {
  local_.workers = static_cast<int64_t>(pool_.workers().size());
  local_.workers_accepting = static_cast<int64_t>(pool_.accepting());
  local_.jobs_in_flight = static_cast<int64_t>(jobs_total_);
  local_.jobs_queued = static_cast<int64_t>(queue_.size());
  local_.clients = static_cast<int64_t>(clients_.size());
  if (zap_) {
    local_.auth_denied = zap_->denied(kFrontendDomain);
    local_.workers_auth_denied = zap_->denied(kBackendDomain);
  }
  std::lock_guard lock(shared_mu_);
  shared_ = local_;
}

ProxyCounters Proxy::Impl::counters() const {
  std::lock_guard lock(shared_mu_);
  return shared_;
}

Proxy::Proxy(ProxyOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Proxy::~Proxy() = default;
std::string Proxy::frontend_address() const { return impl_->frontend_address(); }
std::string Proxy::backend_address() const { return impl_->backend_address(); }
void Proxy::run(const std::atomic<bool>& stop) { impl_->run(stop); }
ProxyCounters Proxy::counters() const { return impl_->counters(); }
void Proxy::request_reload() const { impl_->request_reload(); }

void run_proxy(const ProxyOptions& options, const std::atomic<bool>& stop,
               const std::function<void(const Proxy&)>& on_bound) {
  Proxy proxy(options);
  if (on_bound) on_bound(proxy);
  proxy.run(stop);
}

}  // namespace loom
