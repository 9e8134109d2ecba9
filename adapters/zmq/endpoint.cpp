// ZmqEndpoint lifecycle: socket setup, the mailbox, drain. The I/O loop is
// in endpoint_io.cpp, worker mode's envelopes in worker_link.cpp.
#include <sys/eventfd.h>
#include <unistd.h>

#include "adapters/zmq/endpoint_impl.h"

namespace loom {

Mailbox::Mailbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw ZmqEndpointError("eventfd failed");
}

Mailbox::~Mailbox() { close(fd_); }

void Mailbox::push(MailItem item) {
  bool was_empty;
  {
    std::lock_guard lock(mu_);
    was_empty = items_.empty();
    items_.push_back(std::move(item));
  }
  if (was_empty) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
  }
}

std::deque<MailItem> Mailbox::take() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(fd_, &count, sizeof count);
  std::deque<MailItem> out;
  std::lock_guard lock(mu_);
  out.swap(items_);
  return out;
}

ZmqEndpoint::Impl::Impl(EngineApi& engine, EndpointOptions options)
    : engine_(engine),
      options_(std::move(options)),
      worker_mode_(!options_.proxy_address.empty()),
      context_(1),
      mailbox_(std::make_shared<Mailbox>()) {
  try {
    socket_ = zmq::socket_t(context_, worker_mode_ ? zmq::socket_type::dealer : zmq::socket_type::router);
    socket_.set(zmq::sockopt::sndhwm, options_.send_hwm);
    socket_.set(zmq::sockopt::rcvhwm, options_.send_hwm);
    socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.limits.max_frame_bytes) + 4096);
    socket_.set(zmq::sockopt::linger, 500);
    secure_socket();
    if (worker_mode_) {
      socket_.connect(options_.proxy_address);
      address_ = options_.proxy_address;
    } else {
      // Unroutable peers fail the send (EHOSTUNREACH) instead of vanishing
      // silently, and a full pipe reports EAGAIN: both handled per client.
      socket_.set(zmq::sockopt::router_mandatory, 1);
      socket_.bind(options_.address);
      address_ = socket_.get(zmq::sockopt::last_endpoint);
      after_bind();
    }
  } catch (const zmq::error_t& e) {
    const std::string where = worker_mode_ ? options_.proxy_address : options_.address;
    throw ZmqEndpointError("cannot use " + where + ": " + e.what());
  }
  if (worker_mode_) worker_announce("ready");
  thread_ = std::thread([this] { run(); });
}

ZmqEndpoint::Impl::~Impl() { drain(std::chrono::milliseconds(0)); }

void ZmqEndpoint::Impl::drain(std::chrono::milliseconds timeout) {
  std::call_once(drain_once_, [&] {
    draining_ = true;  // from here the I/O thread answers new jobs `unavailable`
    {
      std::unique_lock lock(counters_mu_);
      drained_cv_.wait_for(lock, timeout, [&] { return in_flight_shared_ == 0; });
    }
    // The I/O thread cancels whatever is left (a job may have slipped in
    // while draining_ was being set), sends the terminal messages that come
    // within a short grace, then leaves its loop.
    mailbox_->push(MailItem{MailItem::Kind::kStop, {}, {}, {}});
    if (thread_.joinable()) thread_.join();
    socket_.close();
  });
}

EndpointCounters ZmqEndpoint::Impl::counters() const {
  std::lock_guard lock(counters_mu_);
  EndpointCounters c = counters_;
  if (zap_) c.auth_denied = zap_->denied(kZapDomain);
  return c;
}

ZmqEndpoint::ZmqEndpoint(EngineApi& engine, EndpointOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}
ZmqEndpoint::~ZmqEndpoint() = default;
std::string ZmqEndpoint::address() const { return impl_->address(); }
void ZmqEndpoint::drain(std::chrono::milliseconds timeout) { impl_->drain(timeout); }
EndpointCounters ZmqEndpoint::counters() const { return impl_->counters(); }
void ZmqEndpoint::reload_curve_clients() { impl_->reload_curve_clients(); }

}  // namespace loom
