#include "adapters/zmq/client.h"

#include <algorithm>
#include <random>

#include <zmq.hpp>

#include "adapters/zmq/curve_cert.h"

namespace loom {

namespace zp = zmq_proto;
using Clock = std::chrono::steady_clock;
using Type = zp::ServerMessage::Type;

struct ZmqClient::Socket {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::dealer};
};

ZmqClient::ZmqClient(ClientOptions options) : options_(std::move(options)), socket_(std::make_unique<Socket>()) {
  socket_->socket.set(zmq::sockopt::linger, 0);
  if (options_.curve_server_public.empty() != options_.curve_secret.empty()) {
    throw std::invalid_argument("CURVE needs both curve_server_public (the server's NAME.key) and curve_secret "
                                "(this client's NAME.key_secret)");
  }
  if (!options_.curve_secret.empty()) {
    const CurveCert server = read_curve_cert(options_.curve_server_public);
    const CurveCert mine = read_curve_secret(options_.curve_secret);
    socket_->socket.set(zmq::sockopt::curve_serverkey, server.public_z85);
    socket_->socket.set(zmq::sockopt::curve_publickey, mine.public_z85);
    socket_->socket.set(zmq::sockopt::curve_secretkey, mine.secret_z85);
  }
  socket_->socket.connect(options_.endpoint);
  std::random_device rd;
  id_prefix_ = "c" + std::to_string(rd() % 1000000) + "-";
  last_send_ = Clock::now();
}

ZmqClient::~ZmqClient() = default;

// A DEALER with no live connection (server down, or one that refused this
// client's CURVE key) cannot take a frame; waiting for one is bounded by the
// client's timeout instead of blocking forever.
void ZmqClient::send(const std::string& frame, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    if (socket_->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw ClientTimeout("cannot send to " + options_.endpoint + " within " + std::to_string(wait.count()) +
                          " ms: no connection (server down, or it did not admit this client's CURVE key)");
    }
    zmq::pollitem_t item{socket_->socket.handle(), 0, ZMQ_POLLOUT, 0};
    zmq::poll(&item, 1, std::min(left, std::chrono::milliseconds(100)));
  }
  last_send_ = Clock::now();
}

// Receives for at most `budget`; files each frame under its job or the
// reply queue. Returns whether a frame arrived.
bool ZmqClient::pump(std::chrono::milliseconds budget) {
  zmq::pollitem_t item{socket_->socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, budget) == 0) return false;
  zmq::message_t msg;
  while (socket_->socket.recv(msg, zmq::recv_flags::dontwait)) {
    zp::ServerMessage m = zp::decode_server_frame(msg.to_string_view());
    const bool job_event = m.type == Type::kDelta || m.type == Type::kDone || m.type == Type::kError;
    auto it = m.id && job_event ? jobs_.find(*m.id) : jobs_.end();
    if (it != jobs_.end()) {
      it->second.push_back(std::move(m));
    } else if (m.type == Type::kStats || m.type == Type::kHealth || m.type == Type::kError) {
      if (m.id || m.type == Type::kError) replies_.push_back(std::move(m));  // id-less health: keep-alive
    }
    // else: an event of a job nobody waits for any more (cancelled stream).
  }
  return true;
}

std::optional<zp::ServerMessage> ZmqClient::take_buffered(const std::optional<std::string>& id, Type type) {
  if (id) {
    auto it = jobs_.find(*id);
    if (it != jobs_.end() && !it->second.empty()) {
      zp::ServerMessage m = std::move(it->second.front());
      it->second.pop_front();
      return m;
    }
  }
  for (auto it = replies_.begin(); it != replies_.end(); ++it) {
    if (it->id == id && (it->type == type || it->type == Type::kError)) {
      zp::ServerMessage m = std::move(*it);
      replies_.erase(it);
      return m;
    }
  }
  return std::nullopt;
}

zp::ServerMessage ZmqClient::wait_for(const std::optional<std::string>& id, Type type) {
  const auto deadline = Clock::now() + options_.timeout;
  for (;;) {
    if (auto m = take_buffered(id, type)) return *m;
    const auto now = Clock::now();
    if (now >= deadline) throw ClientTimeout("no answer from " + options_.endpoint + " within " +
                                             std::to_string(options_.timeout.count()) + " ms");
    if (!jobs_.empty() && now - last_send_ >= options_.keepalive_interval) {
      try {
        send(zp::encode_health_request(std::nullopt), std::chrono::milliseconds(0));  // keep-alive; reply dropped
      } catch (const ClientTimeout&) {
        last_send_ = now;  // no connection right now: the wait below times out on its own
      }
    }
    const auto wait = std::min({std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                                options_.keepalive_interval, std::chrono::milliseconds(1000)});
    pump(std::max(wait, std::chrono::milliseconds(1)));
  }
}

ZmqClient::Stream ZmqClient::generate(JobRequest request) {
  if (request.id.empty()) request.id = id_prefix_ + std::to_string(next_id_++);
  send(zp::encode_generate(request), options_.timeout);
  jobs_[request.id];
  return Stream(this, request.id);
}

JobEvent ZmqClient::generate_all(JobRequest request) {
  Stream stream = generate(std::move(request));
  std::string text;
  std::vector<int32_t> ids;
  for (;;) {
    std::optional<JobEvent> ev = stream.next();
    if (ev->kind == JobEvent::Kind::kDelta) {
      text += ev->text;
      ids.insert(ids.end(), ev->token_ids.begin(), ev->token_ids.end());
      continue;
    }
    if (ev->kind == JobEvent::Kind::kDone && ev->text.empty() && ev->token_ids.empty()) {
      ev->text = std::move(text);
      ev->token_ids = std::move(ids);
    }
    return *ev;
  }
}

void ZmqClient::cancel(const std::string& id) {
  // Best effort and prompt: a server this client cannot reach runs no job of it.
  try {
    send(zp::encode_cancel(id), std::chrono::milliseconds(0));
  } catch (const ClientTimeout&) {
  }
}

zp::StatsReply ZmqClient::stats() {
  const std::string id = id_prefix_ + "s" + std::to_string(next_id_++);
  send(zp::encode_stats_request(id), options_.timeout);
  zp::ServerMessage m = wait_for(id, Type::kStats);
  if (m.type == Type::kError) throw std::runtime_error("stats failed: " + m.event.message);
  return m.stats;
}

zp::HealthReply ZmqClient::health() {
  const std::string id = id_prefix_ + "h" + std::to_string(next_id_++);
  send(zp::encode_health_request(id), options_.timeout);
  zp::ServerMessage m = wait_for(id, Type::kHealth);
  if (m.type == Type::kError) throw std::runtime_error("health failed: " + m.event.message);
  return m.health;
}

std::optional<JobEvent> ZmqClient::Stream::next() {
  if (finished_) return std::nullopt;
  zp::ServerMessage m;
  try {
    m = client_->wait_for(id_, Type::kDelta);
  } catch (const ClientTimeout&) {
    cancel();
    throw;
  }
  if (m.type != Type::kDelta) {
    finished_ = true;
    client_->jobs_.erase(id_);
  }
  return std::move(m.event);
}

void ZmqClient::Stream::cancel() {
  if (finished_ || client_ == nullptr) return;
  finished_ = true;
  client_->jobs_.erase(id_);  // later frames of this job are dropped
  client_->cancel(id_);
}

ZmqClient::Stream::Stream(Stream&& other) noexcept
    : client_(other.client_), id_(std::move(other.id_)), finished_(other.finished_) {
  other.client_ = nullptr;
  other.finished_ = true;
}

ZmqClient::Stream::~Stream() {
  try {
    cancel();
  } catch (...) {
  }
}

}  // namespace loom
