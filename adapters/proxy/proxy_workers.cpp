// The worker side of the proxy: registrations and heartbeats, replies
// forwarded to their clients (exactly one terminal per job: late and stray
// replies are dropped), dead workers' jobs answered `unavailable`.
#include <spdlog/spdlog.h>

#include "adapters/proxy/proxy_impl.h"

namespace loom {

namespace zp = zmq_proto;

namespace {
constexpr int kMaxFramesPerTurn = 256;

bool is_terminal(const zp::ServerMessage& m) {
  using T = zp::ServerMessage::Type;
  return m.type == T::kDone || m.type == T::kError || m.type == T::kTokenize || m.type == T::kDetokenize ||
         m.type == T::kModelInfo;
}
}  // namespace

void Proxy::Impl::read_backend() {
  for (int i = 0; i < kMaxFramesPerTurn; ++i) {
    zmq::message_t worker, frame;
    if (!backend_.recv(worker, zmq::recv_flags::dontwait)) return;
    if (!worker.more()) continue;  // cannot happen on a ROUTER; be safe
    if (!backend_.recv(frame, zmq::recv_flags::dontwait)) continue;
    bool more = frame.more();
    while (more) {  // envelopes are one frame: drop stray parts
      zmq::message_t extra;
      if (!backend_.recv(extra, zmq::recv_flags::dontwait)) break;
      more = extra.more();
    }
    on_worker_frame(worker.to_string(), frame.to_string_view());
  }
}

void Proxy::Impl::on_worker_frame(const std::string& worker, std::string_view frame) {
  zp::Envelope e;
  try {
    e = zp::decode_envelope(frame);
  } catch (const zp::ProtocolViolation& err) {
    spdlog::warn("loom proxy: dropped a frame from a worker: {}", err.what());
    return;
  }
  const auto now = Clock::now();
  if (e.type == zp::Envelope::Type::kReady || e.type == zp::Envelope::Type::kHeartbeat) {
    // A heartbeat from an unknown worker counts as `ready`: a restarted
    // proxy, or a worker it had declared dead coming back.
    switch (pool_.announce(worker, e, now)) {
      case proxy::WorkerPool::Announce::kJoined:
        spdlog::info("loom proxy: worker {} joined (capacity {}, load {})", e.worker, e.capacity, e.load);
        break;
      case proxy::WorkerPool::Announce::kRejected:
        spdlog::warn("loom proxy: ignoring worker {}: {} workers already", e.worker, options_.max_workers);
        break;
      case proxy::WorkerPool::Announce::kRefreshed:
        break;
    }
    return;
  }
  if (e.type != zp::Envelope::Type::kReply) return;  // `job` is proxy -> worker only
  if (auto* w = pool_.find(worker)) w->last_seen = now;  // any frame is a sign of life
  on_reply(worker, e);
}

void Proxy::Impl::on_reply(const std::string& worker, const zp::Envelope& e) {
  zp::ServerMessage m;
  try {
    m = zp::decode_server_frame(e.frame);
  } catch (const zp::ProtocolViolation& err) {
    spdlog::warn("loom proxy: dropped a bad reply from a worker: {}", err.what());
    ++local_.frames_dropped;
    return;
  }
  // Only the job's current owner speaks for it. Anything else is late (the
  // proxy already answered `unavailable`) or stray (a job it never routed
  // there): dropped, and a live stray job is cancelled on its worker.
  const Route* route = nullptr;
  if (auto c = clients_.find(e.client); c != clients_.end() && m.id) {
    if (auto j = c->second.jobs.find(*m.id); j != c->second.jobs.end()) route = &j->second;
  }
  if (!route || route->worker != worker) {
    ++local_.frames_dropped;
    if (m.id && !is_terminal(m)) send_cancel(worker, e.client, *m.id);
    return;
  }
  send_client(e.client, e.frame);
  if (is_terminal(m)) {
    end_job(e.client, *m.id);
    ++local_.jobs_finished;
  }
}

// The worker is dead (silent, unroutable or stuck): each of its jobs gets
// its terminal `unavailable` now; its late replies will find no route.
void Proxy::Impl::kill_worker(const std::string& worker, const char* why) {
  const proxy::WorkerInfo* w = pool_.find(worker);
  if (!w) return;
  std::vector<std::pair<std::string, std::string>> owned;
  for (const auto& [client, state] : clients_) {
    for (const auto& [id, route] : state.jobs) {
      if (route.worker == worker) owned.emplace_back(client, id);
    }
  }
  spdlog::warn("loom proxy: worker {} lost ({}); {} jobs answered unavailable", w->name, why, owned.size());
  const std::string message = "worker " + w->name + " lost (" + why + ") before the job ended";
  pool_.remove(worker);
  ++local_.workers_lost;
  for (const auto& [client, id] : owned) {
    send_cancel(worker, client, id);  // in case it is merely slow; fails quietly if it is gone
    end_job(client, id);
    ++local_.jobs_unavailable;
    send_client(client, zp::encode_error(id, {ErrorCode::kUnavailable, "", message}));
  }
  if (pool_.accepting() == 0) fail_queue({ErrorCode::kUnavailable, "", "no backend worker is available"});
}

void Proxy::Impl::send_heartbeats() {
  zp::Envelope e;
  e.type = zp::Envelope::Type::kHeartbeat;
  std::vector<std::string> lost;
  for (const auto& w : pool_.workers()) {
    // A full pipe only delays this heartbeat; the worker's own timeout is 5 of them.
    if (send_worker(w.key, e) == SendResult::kGone) lost.push_back(w.key);
  }
  for (const auto& key : lost) kill_worker(key, "disconnected");
}

Proxy::Impl::SendResult Proxy::Impl::send_worker(const std::string& worker, const zp::Envelope& e) {
  const std::string frame = zp::encode_envelope(e);
  try {
    if (!backend_.send(zmq::buffer(worker), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return SendResult::kFull;
    }
    backend_.send(zmq::buffer(frame), zmq::send_flags::dontwait);  // atomic with the first part
    return SendResult::kSent;
  } catch (const zmq::error_t& err) {
    if (err.num() == EHOSTUNREACH) return SendResult::kGone;
    throw;
  }
}

void Proxy::Impl::send_cancel(const std::string& worker, const std::string& client, const std::string& id) {
  if (worker.empty()) return;
  zp::Envelope e;
  e.type = zp::Envelope::Type::kJob;
  e.client = client;
  e.frame = zp::encode_cancel(id);
  send_worker(worker, e);  // best effort
}

}  // namespace loom
