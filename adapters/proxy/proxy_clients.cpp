// The client side of the proxy: decode and validate client frames, route
// `generate` to the least-loaded worker (or the queue), `cancel` to the job's
// owner, answer `stats`/`health` here; keep-alive of clients.
#include <spdlog/spdlog.h>

#include "adapters/proxy/proxy_impl.h"

namespace loom {

namespace zp = zmq_proto;

namespace {
constexpr int kMaxFramesPerTurn = 256;  // then let the workers' side and timers run
}

void Proxy::Impl::read_frontend() {
  for (int i = 0; i < kMaxFramesPerTurn; ++i) {
    zmq::message_t first;
    if (!frontend_.recv(first, zmq::recv_flags::dontwait)) return;
    // ROUTER: [routing id][frame]. More parts: a client not speaking this
    // protocol (REQ's empty delimiter, multipart): rejected like a backend does.
    std::vector<zmq::message_t> parts;
    bool more = first.more();
    while (more) {
      parts.emplace_back();
      if (!frontend_.recv(parts.back(), zmq::recv_flags::dontwait)) break;
      more = parts.back().more();
    }
    const std::string client = first.to_string();
    ++local_.frames_in;
    if (parts.size() != 1) {
      reject(client, std::nullopt, ErrorCode::kBadRequest,
             "expected exactly one frame per message, got " + std::to_string(parts.size()) +
                 " (no empty delimiter: use a DEALER socket)");
      continue;
    }
    on_client_frame(client, parts[0].to_string_view());
  }
}

void Proxy::Impl::on_client_frame(const std::string& client, std::string_view frame) {
  if (auto it = clients_.find(client); it != clients_.end()) {
    it->second.last_seen = Clock::now();
    it->second.gone = false;  // a client we had given up on speaks again
  }
  zp::Decoded d = zp::decode_client_frame(frame, options_.limits);
  if (d.error) return reject(client, d.id, d.error->code, d.error->message, d.error->field);
  if (std::holds_alternative<JobRequest>(d.message)) {
    accept_generate(client, *d.id, frame);
  } else if (auto* cancel = std::get_if<zp::CancelRequest>(&d.message)) {
    on_cancel(client, cancel->id, frame);
  } else if (auto* stats = std::get_if<zp::StatsRequest>(&d.message)) {
    send_client(client, stats_frame(stats->id));
  } else if (auto* health = std::get_if<zp::HealthRequest>(&d.message)) {
    send_client(client, health_frame(health->id));
  }
}

void Proxy::Impl::accept_generate(const std::string& client, const std::string& id, std::string_view frame) {
  if (stopping_) return reject(client, id, ErrorCode::kUnavailable, "proxy is stopping; not accepting jobs");
  auto existing = clients_.find(client);
  const size_t client_jobs = existing == clients_.end() ? 0 : existing->second.jobs.size();
  // The proxy owns the (client, id) namespace: a duplicate must not reach a
  // worker, whose rejection would end the first job's route here.
  if (existing != clients_.end() && existing->second.jobs.count(id)) {
    return reject(client, id, ErrorCode::kBadRequest, "id \"" + id + "\" is already in flight on this connection",
                  "id");
  }
  if (jobs_total_ >= options_.max_jobs_in_flight) {
    return reject(client, id, ErrorCode::kOverloaded,
                  "proxy has " + std::to_string(jobs_total_) + " jobs in flight (limit); retry later");
  }
  if (client_jobs >= options_.max_jobs_per_client) {
    return reject(client, id, ErrorCode::kOverloaded,
                  "this connection has " + std::to_string(client_jobs) + " jobs in flight (limit); retry later");
  }
  std::optional<std::string> owner = route_job(client, frame);
  if (!owner) {
    if (pool_.accepting() == 0) {
      ++local_.jobs_unavailable;
      return reject(client, id, ErrorCode::kUnavailable, "no backend worker is available");
    }
    if (options_.queue_timeout.count() == 0 || queue_.size() >= options_.max_queued) {
      return reject(client, id, ErrorCode::kOverloaded, "all workers are at capacity and the proxy queue is full");
    }
    queue_.push_back({client, id, std::string(frame), Clock::now() + options_.queue_timeout});
    owner = "";
  }
  ClientJobs& state = clients_[client];  // looked up after routing: routing may erase entries
  if (state.jobs.empty()) state.last_seen = Clock::now();
  state.jobs[id] = Route{*owner};
  ++jobs_total_;
}

// Sends the frame to the least-loaded worker with room; its key, or nullopt
// when no worker has room. A worker that cannot take it is declared dead.
std::optional<std::string> Proxy::Impl::route_job(const std::string& client, std::string_view frame) {
  zp::Envelope e;
  e.type = zp::Envelope::Type::kJob;
  e.client = client;
  e.frame = std::string(frame);
  while (proxy::WorkerInfo* w = pool_.pick()) {
    const std::string key = w->key;
    const SendResult sent = send_worker(key, e);
    if (sent == SendResult::kSent) {
      ++w->in_flight;
      ++w->jobs_routed;
      return key;
    }
    kill_worker(key, sent == SendResult::kGone ? "unroutable" : "not reading (pipe full)");
  }
  return std::nullopt;
}

void Proxy::Impl::on_cancel(const std::string& client, const std::string& id, std::string_view frame) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;  // unknown or finished: ignored, as a backend does
  auto job = it->second.jobs.find(id);
  if (job == it->second.jobs.end()) return;
  if (!job->second.worker.empty()) {
    zp::Envelope e;
    e.type = zp::Envelope::Type::kJob;
    e.client = client;
    e.frame = std::string(frame);
    send_worker(job->second.worker, e);  // lost only with a dead worker, which ends the job anyway
    return;
  }
  // Still queued: the proxy ends it, as an engine would.
  drop_queued(client, id);
  end_job(client, id);
  JobEvent done;
  done.kind = JobEvent::Kind::kDone;
  done.finish_reason = FinishReason::kCancelled;
  send_client(client, zp::encode_event(done, id, false));
}

void Proxy::Impl::dispatch_queue(Clock::time_point now) {
  while (!queue_.empty()) {
    QueuedJob job = queue_.front();
    if (now >= job.deadline) {
      queue_.pop_front();
      end_job(job.client, job.id);
      reject(job.client, job.id, ErrorCode::kOverloaded,
             "no worker had room within " + std::to_string(options_.queue_timeout.count()) + " ms; retry later");
      continue;
    }
    if (pool_.accepting() == 0) return fail_queue({ErrorCode::kUnavailable, "", "no backend worker is available"});
    std::optional<std::string> owner = route_job(job.client, job.frame);
    if (!owner) return;
    // route_job may have failed the queue (last worker died): check it is still ours.
    if (queue_.empty() || queue_.front().client != job.client || queue_.front().id != job.id) {
      if (auto* w = pool_.find(*owner)) --w->in_flight;
      send_cancel(*owner, job.client, job.id);
      continue;
    }
    queue_.pop_front();
    clients_.at(job.client).jobs.at(job.id).worker = *owner;
  }
}

// Answers every queued job with `error`; used when no worker accepts jobs.
void Proxy::Impl::fail_queue(zp::ProtocolError error) {
  std::deque<QueuedJob> failed;
  failed.swap(queue_);
  for (const auto& job : failed) {
    end_job(job.client, job.id);
    if (error.code == ErrorCode::kUnavailable) ++local_.jobs_unavailable;
    send_client(job.client, zp::encode_error(job.id, error));
  }
}

void Proxy::Impl::drop_queued(const std::string& client, const std::string& id) {
  std::erase_if(queue_, [&](const QueuedJob& q) { return q.client == client && q.id == id; });
}

// The client is silent past keep-alive or cannot take frames: cancel its
// jobs (queued ones just vanish) and drop what is sent to it until it speaks.
void Proxy::Impl::declare_gone(const std::string& client, const char* why) {
  auto it = clients_.find(client);
  if (it == clients_.end() || it->second.gone) return;
  spdlog::debug("loom proxy: client gone ({}), cancelling {} jobs", why, it->second.jobs.size());
  it->second.gone = true;
  std::vector<std::string> queued;
  for (const auto& [id, route] : it->second.jobs) {
    if (route.worker.empty()) queued.push_back(id);
    else send_cancel(route.worker, client, id);  // its terminal message will be dropped
  }
  for (const auto& id : queued) {
    drop_queued(client, id);
    end_job(client, id);
  }
}

void Proxy::Impl::expire_silent_clients(Clock::time_point now) {
  std::vector<std::string> silent;
  for (const auto& [client, state] : clients_) {
    if (!state.gone && now - state.last_seen > options_.keepalive) silent.push_back(client);
  }
  for (const auto& client : silent) declare_gone(client, "keep-alive expired");
}

// Forgets a job's route (its terminal message is out or will never be sent).
void Proxy::Impl::end_job(const std::string& client, const std::string& id) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  auto job = it->second.jobs.find(id);
  if (job == it->second.jobs.end()) return;
  if (auto* w = job->second.worker.empty() ? nullptr : pool_.find(job->second.worker)) --w->in_flight;
  it->second.jobs.erase(job);
  --jobs_total_;
  if (it->second.jobs.empty()) clients_.erase(it);
}

void Proxy::Impl::send_client(const std::string& client, const std::string& frame) {
  if (auto it = clients_.find(client); it != clients_.end() && it->second.gone) {
    ++local_.frames_dropped;
    return;
  }
  try {
    if (frontend_.send(zmq::buffer(client), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      frontend_.send(zmq::buffer(frame), zmq::send_flags::dontwait);  // atomic with the first part
      ++local_.frames_out;
      return;
    }
    declare_gone(client, "not reading (pipe full)");
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) throw;
    declare_gone(client, "disconnected");
  }
  ++local_.frames_dropped;
}

void Proxy::Impl::reject(const std::string& client, const std::optional<std::string>& id, ErrorCode code,
                         std::string message, std::string field) {
  send_client(client, zp::encode_error(id, {code, std::move(field), std::move(message)}));
}

}  // namespace loom
