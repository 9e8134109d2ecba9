#include "adapters/zmq/remote_engine.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <zmq.hpp>

#include "adapters/zmq/codec.h"

namespace loom {

namespace zp = zmq_proto;
using Clock = std::chrono::steady_clock;

class RemoteEngine::Impl {
 public:
  explicit Impl(RemoteEngineOptions options) : options_(std::move(options)), socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(options_.endpoint);  // throws zmq::error_t for a malformed address
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    thread_ = std::thread([this] { loop(); });
  }
  ~Impl() {
    stop_ = true;
    poke();
    thread_.join();
    ::close(wake_);
    // Every job still open gets its terminal event, as the contract promises.
    for (auto& [id, cb] : jobs_) {
      JobEvent ev;
      ev.id = id;
      ev.kind = JobEvent::Kind::kError;
      ev.error_code = ErrorCode::kUnavailable;
      ev.message = "the gateway's connection to " + options_.endpoint + " closed before the job ended";
      cb(ev);
    }
  }

  void submit(JobRequest request, JobCallback callback) {
    const std::string id = request.id;
    std::string frame = zp::encode_generate(request);
    {
      std::lock_guard lock(mu_);
      jobs_pending_.emplace_back(id, std::move(callback));
      outbox_.push_back(std::move(frame));
    }
    poke();
  }

  void send(std::string frame) {
    {
      std::lock_guard lock(mu_);
      outbox_.push_back(std::move(frame));
    }
    poke();
  }

  // Sends `frame` (built for request id `id`) and waits for the reply with that id.
  zp::ServerMessage request(const std::string& id, std::string frame) const {
    auto waiter = std::make_shared<Waiter>();
    {
      std::lock_guard lock(mu_);
      waiters_[id] = waiter;
      outbox_.push_back(std::move(frame));
    }
    poke();
    std::unique_lock lock(waiter->mu);
    if (!waiter->cv.wait_for(lock, options_.timeout, [&] { return waiter->reply.has_value(); })) {
      std::lock_guard g(mu_);
      waiters_.erase(id);
      throw std::runtime_error("no reply from " + options_.endpoint + " within " +
                               std::to_string(options_.timeout.count()) + " ms");
    }
    return *waiter->reply;
  }

  std::string next_request_id() const { return "gw-req-" + std::to_string(next_request_++); }

 private:
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<zp::ServerMessage> reply;
  };

  void poke() const {
    const uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  }

  void loop() {
    zmq::pollitem_t items[] = {{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0}, {nullptr, wake_, ZMQ_POLLIN, 0}};
    while (!stop_) {
      zmq::poll(items, 2, std::chrono::milliseconds(200));
      if (items[1].revents & ZMQ_POLLIN) {
        uint64_t n;
        (void)!::read(wake_, &n, sizeof n);
      }
      flush_outbox();
      for (int i = 0; i < 1024; ++i) {
        zmq::message_t msg;
        if (!socket_.recv(msg, zmq::recv_flags::dontwait)) break;
        on_frame(msg.to_string_view());
      }
      keepalive();
    }
  }

  void flush_outbox() {
    std::deque<std::string> out;
    {
      std::lock_guard lock(mu_);
      out.swap(outbox_);
      for (auto& [id, cb] : jobs_pending_) jobs_[id] = std::move(cb);  // owned by this thread from now on
      jobs_pending_.clear();
    }
    for (auto& frame : out) {
      socket_.send(zmq::buffer(frame), zmq::send_flags::none);
      last_send_ = Clock::now();
    }
  }

  void keepalive() {
    if (jobs_.empty() || Clock::now() - last_send_ < options_.keepalive_interval) return;
    const std::string frame = zp::encode_health_request(std::nullopt);  // its reply is discarded
    socket_.send(zmq::buffer(frame), zmq::send_flags::none);
    last_send_ = Clock::now();
  }

  void on_frame(std::string_view frame) {
    zp::ServerMessage m;
    try {
      m = zp::decode_server_frame(frame);
    } catch (const zp::ProtocolViolation&) {
      return;  // not ours to answer; the job's own timeout covers a lost terminal
    }
    if (!m.id) return;
    if (auto w = take_waiter(*m.id)) {
      std::lock_guard lock(w->mu);
      w->reply = std::move(m);
      w->cv.notify_all();
      return;
    }
    auto it = jobs_.find(*m.id);
    if (it == jobs_.end()) return;  // late or stray
    if (m.type != zp::ServerMessage::Type::kDelta && m.type != zp::ServerMessage::Type::kDone &&
        m.type != zp::ServerMessage::Type::kError)
      return;
    if (m.type == zp::ServerMessage::Type::kError) m.event.field = m.error_field;
    const bool terminal = m.type != zp::ServerMessage::Type::kDelta;
    JobCallback cb = terminal ? std::move(it->second) : it->second;
    if (terminal) jobs_.erase(it);
    cb(m.event);
  }

  std::shared_ptr<Waiter> take_waiter(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return nullptr;
    auto w = std::move(it->second);
    waiters_.erase(it);
    return w;
  }

  RemoteEngineOptions options_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  int wake_ = -1;
  std::atomic<bool> stop_{false};
  mutable std::atomic<uint64_t> next_request_{0};
  mutable std::mutex mu_;
  mutable std::deque<std::string> outbox_;
  std::vector<std::pair<std::string, JobCallback>> jobs_pending_;
  mutable std::unordered_map<std::string, std::shared_ptr<Waiter>> waiters_;
  std::unordered_map<std::string, JobCallback> jobs_;  // I/O thread only
  Clock::time_point last_send_ = Clock::now();
  std::thread thread_;
};

namespace {

// A request the backend refused: its error as an exception of the contract's kind.
[[noreturn]] void rethrow(const zp::ServerMessage& m) {
  if (m.event.error_code == ErrorCode::kBadRequest || m.event.error_code == ErrorCode::kTooLong)
    throw EngineInputError(m.event.message);
  throw std::runtime_error(m.event.message);
}

zp::ServerMessage expect(zp::ServerMessage m, zp::ServerMessage::Type type) {
  if (m.type == zp::ServerMessage::Type::kError) rethrow(m);
  if (m.type != type) throw std::runtime_error("unexpected reply type from the backend");
  return m;
}

}  // namespace

RemoteEngine::RemoteEngine(RemoteEngineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
RemoteEngine::~RemoteEngine() = default;

void RemoteEngine::submit(JobRequest request, JobCallback callback) { impl_->submit(std::move(request), std::move(callback)); }

void RemoteEngine::cancel(const std::string& id) { impl_->send(zp::encode_cancel(id)); }

EngineStats RemoteEngine::stats() const {
  const std::string id = impl_->next_request_id();
  return expect(impl_->request(id, zp::encode_stats_request(id)), zp::ServerMessage::Type::kStats).stats.engine;
}

EngineHealth RemoteEngine::health() const {
  const std::string id = impl_->next_request_id();
  const auto m = expect(impl_->request(id, zp::encode_health_request(id)), zp::ServerMessage::Type::kHealth);
  EngineHealth h = m.health.engine;
  if (m.health.draining) h.ok = false;
  return h;
}

ModelInfo RemoteEngine::model_info() const {
  const std::string id = impl_->next_request_id();
  return expect(impl_->request(id, zp::encode_model_info_request(id)), zp::ServerMessage::Type::kModelInfo).model;
}

std::vector<int32_t> RemoteEngine::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  const std::string id = impl_->next_request_id();
  return expect(impl_->request(id, zp::encode_tokenize_request(id, text, add_special, parse_special)),
                zp::ServerMessage::Type::kTokenize)
      .event.token_ids;
}

std::string RemoteEngine::detokenize(const std::vector<int32_t>& ids) const {
  const std::string id = impl_->next_request_id();
  return expect(impl_->request(id, zp::encode_detokenize_request(id, ids)), zp::ServerMessage::Type::kDetokenize)
      .event.text;
}

}  // namespace loom
