// The endpoint's I/O thread: receive and answer frames, forward engine
// events, keep-alive sweeps. Only this thread touches socket_ and clients_.
#include <spdlog/spdlog.h>

#include "adapters/zmq/endpoint_impl.h"

namespace loom {

namespace zp = zmq_proto;

namespace {
constexpr auto kParkedRetry = std::chrono::milliseconds(2);
constexpr int kMaxFramesPerTurn = 256;  // keep mail flowing under a flood of requests
}  // namespace

void ZmqEndpoint::Impl::run() {
  while (!stop_loop_) {
    if (stopping_ && (jobs_in_flight_ == 0 || Clock::now() > stop_deadline_)) break;
    try {
      poll_once();
    } catch (const std::exception& e) {
      // A bug here must not silently kill every client's stream.
      spdlog::error("zmq endpoint: I/O loop error: {}", e.what());
    }
    update_counts();
  }
  // Jobs the engine did not end within the grace still get their one
  // terminal message; later engine events for them are dropped.
  for (auto& [client, state] : clients_) {
    for (const auto& [id, job] : state.jobs) {
      reply(client, zp::encode_error(id, {ErrorCode::kUnavailable, "", "backend stopped before the job ended"}));
    }
    jobs_in_flight_ -= state.jobs.size();
    state.jobs.clear();
  }
  publish_in_flight();
  update_counts();
}

void ZmqEndpoint::Impl::poll_once() {
  bool parked = false;
  for (auto& [key, state] : clients_) parked |= !state.parked.empty();
  const auto tick = std::min<std::chrono::milliseconds>(
      {std::chrono::milliseconds(100), options_.keepalive / 4, options_.heartbeat});
  zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, mailbox_->fd(), ZMQ_POLLIN, 0}};
  zmq::poll(items, 2, parked ? kParkedRetry : tick);
  if (items[1].revents & ZMQ_POLLIN) on_mail();
  if (items[0].revents & ZMQ_POLLIN) on_readable();
  on_timer(Clock::now());
}

void ZmqEndpoint::Impl::on_readable() {
  for (int i = 0; i < kMaxFramesPerTurn && !stop_loop_; ++i) {
    zmq::message_t first;
    if (!socket_.recv(first, zmq::recv_flags::dontwait)) return;
    if (worker_mode_) {
      // Drop any stray extra parts; the envelope is one frame.
      while (first.more() || socket_.get(zmq::sockopt::rcvmore)) {
        zmq::message_t extra;
        if (!socket_.recv(extra, zmq::recv_flags::dontwait) || !extra.more()) break;
      }
      worker_on_frame(first.to_string_view());
      continue;
    }
    // ROUTER: [routing id][frame]; extra parts mean a client that is not
    // speaking this protocol (e.g. REQ's empty delimiter): reject.
    std::vector<zmq::message_t> parts;
    bool more = first.more();
    while (more) {
      parts.emplace_back();
      if (!socket_.recv(parts.back(), zmq::recv_flags::dontwait)) break;
      more = parts.back().more();
    }
    const std::string client = first.to_string();
    if (parts.size() != 1) {
      ++local_.frames_in;
      clients_[client].last_seen = Clock::now();
      reject(client, std::nullopt, ErrorCode::kBadRequest, "",
             "expected exactly one frame per message, got " + std::to_string(parts.size()) +
                 " (no empty delimiter: use a DEALER socket)");
      continue;
    }
    handle_client_frame(client, parts[0].to_string_view());
  }
}

namespace {

// `tokenize`, `detokenize`, `model_info`: the engine's answer, or an error
// carrying the request's id (an id outside the vocabulary is bad_request).
std::string info_reply(const EngineApi& engine, const zp::ClientMessage& m) {
  std::string id;
  if (const auto* t = std::get_if<zp::TokenizeRequest>(&m)) id = t->id;
  if (const auto* d = std::get_if<zp::DetokenizeRequest>(&m)) id = d->id;
  if (const auto* i = std::get_if<zp::ModelInfoRequest>(&m)) id = i->id;
  try {
    if (const auto* t = std::get_if<zp::TokenizeRequest>(&m))
      return zp::encode_tokenize_reply(t->id, engine.tokenize(t->text, t->add_special, t->parse_special));
    if (const auto* d = std::get_if<zp::DetokenizeRequest>(&m))
      return zp::encode_detokenize_reply(d->id, engine.detokenize(d->ids));
    return zp::encode_model_info_reply(std::get<zp::ModelInfoRequest>(m).id, engine.model_info());
  } catch (const EngineInputError& e) {
    return zp::encode_error(id, zp::ProtocolError{ErrorCode::kBadRequest, "", e.what()});
  } catch (const std::exception& e) {
    return zp::encode_error(id, zp::ProtocolError{ErrorCode::kInternal, "", e.what()});
  }
}

}  // namespace

void ZmqEndpoint::Impl::handle_client_frame(const std::string& client, std::string_view frame) {
  ++local_.frames_in;
  ClientState& state = clients_[client];
  state.last_seen = Clock::now();
  state.gone = false;  // a client we had given up on speaks again
  zp::Decoded d = zp::decode_client_frame(frame, options_.limits);
  if (!d.ignored_fields.empty() && spdlog::should_log(spdlog::level::debug)) {
    std::string list;
    for (const auto& f : d.ignored_fields) list += (list.empty() ? "" : ", ") + f;
    spdlog::debug("zmq endpoint: ignored unknown fields (id {}): {}", d.id.value_or("nil"), list);
  }
  if (d.error) {
    reject(client, d.id, d.error->code, d.error->field, d.error->message);
    return;
  }
  if (auto* job = std::get_if<JobRequest>(&d.message)) {
    handle_generate(client, state, std::move(*job));
  } else if (auto* cancel = std::get_if<zp::CancelRequest>(&d.message)) {
    handle_cancel(state, cancel->id);
  } else if (auto* stats = std::get_if<zp::StatsRequest>(&d.message)) {
    zp::StatsReply reply{engine_.stats(), static_cast<int64_t>(clients_.size()),
                         static_cast<int64_t>(jobs_in_flight_), zap_ ? zap_->denied(kZapDomain) : 0};
    this->reply(client, zp::encode_stats(stats->id, reply));
  } else if (auto* health = std::get_if<zp::HealthRequest>(&d.message)) {
    const double uptime = std::chrono::duration<double>(Clock::now() - started_).count();
    this->reply(client, zp::encode_health(health->id, {engine_.health(), draining_.load(), uptime}));
  } else {
    this->reply(client, info_reply(engine_, d.message));  // tokenize, detokenize, model_info
  }
}

void ZmqEndpoint::Impl::handle_generate(const std::string& client, ClientState& state, JobRequest job) {
  const std::string client_id = job.id;
  if (draining_) {
    return reject(client, client_id, ErrorCode::kUnavailable, "", "backend is draining; not accepting jobs");
  }
  if (state.jobs.count(client_id)) {
    return reject(client, client_id, ErrorCode::kBadRequest, "id",
                  "id: \"" + client_id + "\" is already in flight on this connection");
  }
  if (jobs_in_flight_ >= options_.max_jobs_in_flight || state.jobs.size() >= options_.max_jobs_per_client) {
    return reject(client, client_id, ErrorCode::kOverloaded, "",
                  "too many jobs in flight (endpoint " + std::to_string(jobs_in_flight_) + ", client " +
                      std::to_string(state.jobs.size()) + ")");
  }
  // Engine ids are unique across clients; the client's id rides in the callback.
  job.id = "zmq:" + std::to_string(next_job_seq_++);
  state.jobs[client_id] = JobEntry{job.id, job.stream};
  ++jobs_in_flight_;
  publish_in_flight();
  std::weak_ptr<Mailbox> mailbox = mailbox_;
  auto callback = [mailbox, client, client_id](const JobEvent& e) {
    if (auto box = mailbox.lock()) box->push(MailItem{MailItem::Kind::kEvent, client, client_id, e});
  };
  try {
    engine_.submit(std::move(job), std::move(callback));
  } catch (const std::exception& e) {
    // The engine promised events, not exceptions; keep the one-terminal rule anyway.
    JobEvent err;
    err.kind = JobEvent::Kind::kError;
    err.error_code = ErrorCode::kInternal;
    err.message = std::string("engine submit failed: ") + e.what();
    on_event(MailItem{MailItem::Kind::kEvent, client, client_id, err});
  }
}

void ZmqEndpoint::Impl::handle_cancel(ClientState& state, const std::string& client_id) {
  // Unknown or finished ids are ignored: a cancel may cross the job's done.
  auto it = state.jobs.find(client_id);
  if (it != state.jobs.end()) engine_.cancel(it->second.engine_id);
}

void ZmqEndpoint::Impl::on_mail() {
  for (MailItem& item : mailbox_->take()) {
    switch (item.kind) {
      case MailItem::Kind::kEvent: on_event(item); break;
      case MailItem::Kind::kStop: begin_stop(); break;
    }
  }
}

void ZmqEndpoint::Impl::on_event(const MailItem& item) {
  auto cit = clients_.find(item.client);
  if (cit == clients_.end()) return;
  ClientState& state = cit->second;
  auto jit = state.jobs.find(item.client_id);
  if (jit == state.jobs.end()) return;  // after its terminal event: the engine broke its promise
  const bool terminal = item.event.kind != JobEvent::Kind::kDelta;
  const bool stream = jit->second.stream;
  if (terminal) {
    state.jobs.erase(jit);
    --jobs_in_flight_;
    publish_in_flight();
  } else if (!stream) {
    return;  // a non-streamed job's text comes whole in its done
  }
  reply(item.client, zp::encode_event(item.event, item.client_id, !stream));
}

void ZmqEndpoint::Impl::reject(const std::string& client, const std::optional<std::string>& id,
                               ErrorCode code, std::string field, std::string message) {
  ++local_.frames_rejected;
  reply(client, zp::encode_error(id, zp::ProtocolError{code, std::move(field), std::move(message)}));
}

void ZmqEndpoint::Impl::reply(const std::string& client, std::string frame) {
  ClientState& state = clients_[client];
  if (state.gone) {
    ++local_.frames_dropped;
    return;
  }
  state.parked.push_back(std::move(frame));
  flush_parked(client, state);
  if (state.parked.size() > options_.max_parked_per_client) expire(client, state, "stopped reading");
}

void ZmqEndpoint::Impl::flush_parked(const std::string& client, ClientState& state) {
  while (!state.parked.empty()) {
    switch (send_raw(client, state.parked.front())) {
      case SendResult::kSent:
        ++local_.frames_out;
        state.parked.pop_front();
        break;
      case SendResult::kFull:
        return;
      case SendResult::kGone:
        expire(client, state, "unroutable");
        return;
    }
  }
}

ZmqEndpoint::Impl::SendResult ZmqEndpoint::Impl::send_raw(const std::string& client, const std::string& frame) {
  if (worker_mode_) {
    const std::string envelope = worker_wrap(client, frame);
    return socket_.send(zmq::buffer(envelope), zmq::send_flags::dontwait) ? SendResult::kSent : SendResult::kFull;
  }
  try {
    if (!socket_.send(zmq::buffer(client), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return SendResult::kFull;
    }
    socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);  // atomic with the first part
    return SendResult::kSent;
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) return SendResult::kGone;
    throw;
  }
}

void ZmqEndpoint::Impl::expire(const std::string& client, ClientState& state, const char* why) {
  if (state.gone) return;
  spdlog::debug("zmq endpoint: client gone ({}), cancelling {} jobs", why, state.jobs.size());
  state.gone = true;
  local_.frames_dropped += static_cast<int64_t>(state.parked.size());
  state.parked.clear();
  ++local_.clients_expired;
  for (const auto& [id, job] : state.jobs) engine_.cancel(job.engine_id);
}

void ZmqEndpoint::Impl::begin_stop() {
  stopping_ = true;
  stop_deadline_ = Clock::now() + std::chrono::seconds(1);
  cancel_all();
}

void ZmqEndpoint::Impl::publish_in_flight() {
  {
    std::lock_guard lock(counters_mu_);
    in_flight_shared_ = static_cast<int64_t>(jobs_in_flight_);
  }
  drained_cv_.notify_all();
}

void ZmqEndpoint::Impl::cancel_all() {
  for (auto& [key, state] : clients_) {
    for (const auto& [id, job] : state.jobs) engine_.cancel(job.engine_id);
  }
}

void ZmqEndpoint::Impl::on_timer(Clock::time_point now) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    ClientState& state = it->second;
    if (!state.parked.empty()) flush_parked(it->first, state);
    const bool silent = now - state.last_seen > options_.keepalive;
    // Worker mode: the proxy owns client keep-alive and sends cancels.
    if (silent && !worker_mode_ && !state.jobs.empty()) expire(it->first, state, "keep-alive expired");
    // Forget idle clients so memory stays bounded by live ones.
    const bool idle = state.jobs.empty() && (state.parked.empty() || state.gone);
    it = (idle && (silent || state.gone)) ? clients_.erase(it) : std::next(it);
  }
  if (worker_mode_) {
    if (now >= next_heartbeat_) {
      worker_announce("heartbeat");
      next_heartbeat_ = now + options_.heartbeat;
    }
    if (now - last_proxy_seen_ > options_.proxy_timeout && jobs_in_flight_ > 0) {
      spdlog::warn("zmq worker: proxy silent for {} ms, cancelling {} jobs",
                   options_.proxy_timeout.count(), jobs_in_flight_);
      for (auto& [key, state] : clients_) expire(key, state, "proxy silent");
      last_proxy_seen_ = now;
    }
  }
}

void ZmqEndpoint::Impl::update_counts() {
  local_.clients = static_cast<int64_t>(clients_.size());
  local_.jobs_in_flight = static_cast<int64_t>(jobs_in_flight_);
  std::lock_guard lock(counters_mu_);
  counters_ = local_;
}

}  // namespace loom
