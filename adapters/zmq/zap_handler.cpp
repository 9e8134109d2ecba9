#include "adapters/zmq/zap_handler.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace loom {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr int kHandshakeFailures =
    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::string z85(const zmq::message_t& key) {
  if (key.size() != 32) return {};
  char out[41];
  zmq_z85_encode(out, static_cast<const uint8_t*>(key.data()), 32);
  return out;
}

}  // namespace

ZapHandler::ZapHandler(zmq::context_t& context) : context_(context), zap_(context, zmq::socket_type::rep) {
  zap_.set(zmq::sockopt::linger, 0);
  zap_.bind(kZapEndpoint);
}

ZapHandler::~ZapHandler() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::secure_server(zmq::socket_t& socket, const std::string& domain, const CurveCert& server,
                               const std::string& clients_dir) {
  std::set<std::string> keys = read_public_keys_dir(clients_dir);
  {
    std::lock_guard lock(mu_);
    keys_[domain] = std::move(keys);
    denied_[domain] = 0;
  }
  dirs_[domain] = clients_dir;
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, server.secret_z85);
  socket.set(zmq::sockopt::zap_domain, domain);
  // A peer that opens a connection and never finishes the handshake holds
  // its session only this long (libzmq's default is 30 s).
  socket.set(zmq::sockopt::handshake_ivl, 5000);
  // Each socket's monitor gets its own inproc name within this context.
  const std::string name = "inproc://loom-zap-monitor-" + std::to_string(watches_.size());
  if (zmq_socket_monitor(socket.handle(), name.c_str(), kHandshakeFailures) != 0) throw zmq::error_t();
  Watch w{domain, zmq::socket_t(context_, zmq::socket_type::pair)};
  w.monitor.set(zmq::sockopt::linger, 0);
  w.monitor.connect(name);
  watches_.push_back(std::move(w));
}

void ZapHandler::start() {
  thread_ = std::thread([this] { run(); });
}

void ZapHandler::reload() {
  std::map<std::string, std::set<std::string>> fresh;
  for (const auto& [domain, dir] : dirs_) fresh[domain] = read_public_keys_dir(dir);
  std::lock_guard lock(mu_);
  for (auto& [domain, keys] : fresh) {
    spdlog::info("zap: domain {}: {} admitted client keys (was {})", domain, keys.size(), keys_[domain].size());
    keys_[domain] = std::move(keys);
  }
}

int64_t ZapHandler::denied(const std::string& domain) const {
  std::lock_guard lock(mu_);
  auto it = denied_.find(domain);
  return it == denied_.end() ? 0 : it->second;
}

size_t ZapHandler::admitted_keys(const std::string& domain) const {
  std::lock_guard lock(mu_);
  auto it = keys_.find(domain);
  return it == keys_.end() ? 0 : it->second.size();
}

void ZapHandler::run() {
  std::vector<zmq::pollitem_t> items;
  items.push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
  for (auto& w : watches_) items.push_back({w.monitor.handle(), 0, ZMQ_POLLIN, 0});
  while (!stop_) {
    try {
      zmq::poll(items, std::chrono::milliseconds(100));
      if (items[0].revents & ZMQ_POLLIN) {
        std::vector<zmq::message_t> request;
        bool more = true;
        while (more) {
          request.emplace_back();
          if (!zap_.recv(request.back(), zmq::recv_flags::dontwait)) break;
          more = request.back().more();
        }
        answer(request);
      }
      for (size_t i = 0; i < watches_.size(); ++i) {
        if (items[i + 1].revents & ZMQ_POLLIN) on_monitor_event(watches_[i]);
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("zap: {}", e.what());
    }
  }
}

// RFC 27: request [version, request id, domain, address, routing id,
// mechanism, credentials...]; reply [version, request id, status code,
// status text, user id, metadata]. A REP socket must answer every request,
// so a malformed one gets a 400 too (libzmq never sends those).
void ZapHandler::answer(std::vector<zmq::message_t>& request) {
  const bool well_formed = request.size() >= 7 && request[0].to_string_view() == "1.0";
  const std::string request_id = request.size() > 1 ? request[1].to_string() : std::string();
  bool ok = false;
  if (well_formed && request[5].to_string_view() == "CURVE") {
    const std::string domain = request[2].to_string();
    const std::string key = z85(request[6]);
    std::lock_guard lock(mu_);
    auto it = keys_.find(domain);
    ok = it != keys_.end() && !key.empty() && it->second.count(key) > 0;
  }
  const char* status = ok ? "200" : "400";
  const char* text = ok ? "OK" : "client key not admitted";
  zap_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(std::string_view(status)), zmq::send_flags::sndmore);
  zap_.send(zmq::buffer(std::string_view(text)), zmq::send_flags::sndmore);
  zap_.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  zap_.send(zmq::str_buffer(""), zmq::send_flags::none);
}

// A monitor event is two frames: [u16 event, u32 value][endpoint address].
void ZapHandler::on_monitor_event(Watch& watch) {
  for (;;) {
    zmq::message_t event, address;
    if (!watch.monitor.recv(event, zmq::recv_flags::dontwait)) return;
    if (event.more()) (void)watch.monitor.recv(address, zmq::recv_flags::dontwait);
    if (event.size() < 2) continue;
    uint16_t kind;
    std::memcpy(&kind, event.data(), sizeof kind);
    if (kind & kHandshakeFailures) {
      std::lock_guard lock(mu_);
      ++denied_[watch.domain];
    }
  }
}

}  // namespace loom
