// VllmDoor's I/O thread: frontend frames in, engine events out as one
// EngineCoreOutputs per loop turn, scheduler stats and health on a timer.
#include <algorithm>
#include <cstdio>

#include "adapters/vllm/door_impl.h"

namespace loom {

using namespace vllm_door;
using WireFinish = vllm_wire::FinishReason;

namespace {

double monotonic_s() {
  // vLLM's engine stamps outputs with time.monotonic(), i.e. CLOCK_MONOTONIC.
  return std::chrono::duration<double>(DoorClock::now().time_since_epoch()).count();
}

LogprobsRow to_row(const TokenLogprobs& lp, int32_t k) {
  LogprobsRow row;
  row.token = lp.token;
  row.logprob = lp.logprob;
  // Rank among the alternatives Loom reports; past them it is a lower bound.
  row.rank = 1 + static_cast<int32_t>(std::count_if(lp.top.begin(), lp.top.end(),
                                                    [&](const auto& t) { return t.second > lp.logprob; }));
  row.top.assign(lp.top.begin(), lp.top.begin() + std::min<size_t>(lp.top.size(), static_cast<size_t>(k)));
  return row;
}

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kTooLong: return "too_long";
    case ErrorCode::kOverloaded: return "overloaded";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

RequestErrorOut to_request_error(const JobEvent& ev) {
  RequestErrorOut e;
  const bool bad_request = ev.error_code == ErrorCode::kBadRequest || ev.error_code == ErrorCode::kTooLong;
  e.code = bad_request ? "validation_error" : std::string("loom_") + code_name(ev.error_code);
  e.message = ev.field.empty() ? ev.message : ev.field + ": " + ev.message;
  e.retryable = ev.error_code == ErrorCode::kOverloaded || ev.error_code == ErrorCode::kUnavailable;
  return e;
}

}  // namespace

void VllmDoor::Impl::run() {
  next_stats_ = next_health_ = DoorClock::now();
  while (!stop_ && !exited_) {
    zmq::pollitem_t items[] = {{input_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, mailbox_->fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, options_.stats_interval);
    if (items[0].revents & ZMQ_POLLIN) on_input();
    if (items[1].revents & ZMQ_POLLIN) on_mail();
    on_timer(DoorClock::now());
    flush();
  }
}

void VllmDoor::Impl::on_input() {
  for (int budget = 0; budget < 256; ++budget) {
    std::vector<zmq::message_t> parts;
    for (;;) {
      zmq::message_t part;
      if (!input_.recv(part, zmq::recv_flags::dontwait)) break;
      const bool more = part.more();
      parts.push_back(std::move(part));
      if (!more) break;
    }
    if (parts.empty()) return;
    handle_frames(parts);
  }
}

void VllmDoor::Impl::handle_frames(const std::vector<zmq::message_t>& parts) {
  std::vector<std::string_view> frames;
  for (const auto& p : parts) frames.push_back(p.to_string_view());
  InputMessage msg;
  try {
    msg = decode_input(frames);
  } catch (const WireError& e) {
    std::lock_guard lock(counters_mu_);
    if (e.kind == WireError::Kind::kMalformed) {
      ++counters_.dropped_frames;
      std::fprintf(stderr, "loom vllm door: dropped a frame Loom cannot decode: %s\n", e.message.c_str());
      return;
    }
    ++counters_.mismatched_frames;
    std::fprintf(stderr, "loom vllm door: %s (%s)\n", std::string(vllm_wire::kVersionMismatch).c_str(),
                 e.message.c_str());
    if (e.request_id) {
      ++counters_.refused;
      finish(*e.request_id, WireFinish::kError,
             RequestErrorOut{"validation_error", std::string(vllm_wire::kVersionMismatch) + ": " + e.message, false});
    }
    return;
  }
  switch (msg.kind) {
    case InputMessage::Kind::kAdd: return handle_add(msg.add);
    case InputMessage::Kind::kAbort: return handle_abort(msg.abort_ids);
    case InputMessage::Kind::kUtility: return handle_utility(msg.utility);
  }
}

void VllmDoor::Impl::handle_add(const AddRequest& add) {
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.adds;
  }
  ++adds_since_stats_;
  if (draining_) return finish(add.request_id, WireFinish::kAbort);
  auto refuse = [&](std::string message) {
    {
      std::lock_guard lock(counters_mu_);
      ++counters_.refused;
    }
    finish(add.request_id, WireFinish::kError, RequestErrorOut{"validation_error", std::move(message), false});
  };
  if (jobs_.count(add.request_id)) return refuse("request id " + add.request_id + " is already in flight");
  auto mapped = map_add(add, model_);
  if (auto* why = std::get_if<std::string>(&mapped)) return refuse(*why);
  auto& m = std::get<MappedJob>(mapped);
  jobs_[add.request_id] = DoorJob{m.stop, m.num_logprobs};
  std::weak_ptr<DoorMailbox> mb = mailbox_;
  engine_.submit(std::move(m.job), [mb](const JobEvent& ev) {
    if (auto box = mb.lock()) box->push(DoorMail{DoorMail::Kind::kEvent, ev, {}, {}});
  });
}

void VllmDoor::Impl::handle_abort(const std::vector<std::string>& ids) {
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.aborts;
  }
  for (const auto& id : ids) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.aborted) continue;
    it->second.aborted = true;  // vLLM's engine sends nothing for a client abort
    engine_.cancel(id);
  }
}

void VllmDoor::Impl::handle_utility(const UtilityCall& call) {
  {
    std::lock_guard lock(counters_mu_);
    ++counters_.utility_calls;
  }
  UtilityReply r;
  r.call_id = call.call_id;
  const std::string& m = call.method;
  using V = UtilityReply::Value;
  if (m == "get_supported_tasks") {
    r.value = V::kStrings;
    r.strings = {"generate"};
  } else if (m == "reset_mm_cache" || m == "reset_encoder_cache" || m == "execute_dummy_batch") {
    r.value = V::kNone;
  } else if (m == "is_sleeping" || m == "is_scheduler_paused") {
    r.value = V::kFalse;
  } else if (m == "reset_prefix_cache") {
    r.value = V::kFalse;  // Loom's prefix cache is not reset from outside
  } else if (m == "list_loras") {
    r.value = V::kStrings;  // an empty set
  } else {
    r.failure = "Loom's vLLM engine does not support the utility method " + m;
  }
  pending_.utility = r;
  flush();  // one utility reply per EngineCoreOutputs
}

void VllmDoor::Impl::on_mail() {
  for (auto& item : mailbox_->take()) {
    switch (item.kind) {
      case DoorMail::Kind::kEvent: handle_event(item.event); break;
      case DoorMail::Kind::kDrain:
        if (!draining_) {
          draining_ = true;
          drain_deadline_ = DoorClock::now() + item.timeout;
        }
        break;
      case DoorMail::Kind::kFail: send_dead(item.why); break;
    }
  }
}

OutputEntry& VllmDoor::Impl::entry(const std::string& id) {
  auto it = pending_index_.find(id);
  if (it != pending_index_.end()) return pending_.outputs[it->second];
  pending_index_[id] = pending_.outputs.size();
  pending_.outputs.push_back(OutputEntry{});
  pending_.outputs.back().request_id = id;
  return pending_.outputs.back();
}

void VllmDoor::Impl::finish(const std::string& id, WireFinish reason, std::optional<RequestErrorOut> error) {
  OutputEntry& e = entry(id);
  e.finish = reason;
  e.error = std::move(error);
  pending_.finished_requests.push_back(id);
}

void VllmDoor::Impl::on_tokens(const JobEvent& ev, DoorJob& job) {
  OutputEntry& e = entry(ev.id);
  if (job.num_logprobs) e.num_logprobs = job.num_logprobs;
  for (size_t i = 0; i < ev.token_ids.size(); ++i) {
    const int32_t tok = ev.token_ids[i];
    e.new_token_ids.push_back(tok);
    if (job.num_logprobs) {
      e.logprobs.push_back(i < ev.logprobs.size() ? to_row(ev.logprobs[i], *job.num_logprobs)
                                                  : LogprobsRow{tok, 0.0f, 1, {}});
    }
    if (job.stop.door_checks && job.stop.ids.count(tok)) {
      if (job.stop.reported.count(tok)) e.stop_token = tok;
      job.finished = true;
      engine_.cancel(ev.id);
      finish(ev.id, WireFinish::kStop);
      return;
    }
  }
}

void VllmDoor::Impl::handle_event(const JobEvent& ev) {
  auto it = jobs_.find(ev.id);
  if (it == jobs_.end()) return;
  DoorJob& job = it->second;
  const bool terminal = ev.kind != JobEvent::Kind::kDelta;
  if (job.aborted || job.finished) {
    if (terminal) jobs_.erase(it);
    return;
  }
  if (!ev.token_ids.empty()) on_tokens(ev, job);
  if (!terminal || job.finished) {
    if (terminal) jobs_.erase(it);
    return;
  }
  if (ev.kind == JobEvent::Kind::kError) {
    finish(ev.id, WireFinish::kError, to_request_error(ev));
  } else {
    switch (ev.finish_reason) {
      case loom::FinishReason::kStop:
        if (!job.stop.door_checks && job.stop.ids.size() == 1) {
          // Loom stopped on the one stop id without emitting it; vLLM's
          // frontend expects it as the last token (and drops it from text).
          const int32_t tok = *job.stop.ids.begin();
          entry(ev.id).new_token_ids.push_back(tok);
          if (job.stop.reported.count(tok)) entry(ev.id).stop_token = tok;
        }
        finish(ev.id, WireFinish::kStop);
        break;
      case loom::FinishReason::kLength: finish(ev.id, WireFinish::kLength); break;
      case loom::FinishReason::kCancelled:
      case loom::FinishReason::kDeadline: finish(ev.id, WireFinish::kAbort); break;
    }
  }
  jobs_.erase(it);
}

void VllmDoor::Impl::flush() {
  if (pending_.outputs.empty() && !pending_.utility && !pending_.stats) return;
  pending_.engine_index = options_.engine_index;
  pending_.timestamp = monotonic_s();
  const std::string frame = encode_outputs(pending_);
  pending_ = {};
  pending_index_.clear();
  if (dead_) return;
  if (output_.send(zmq::buffer(frame), zmq::send_flags::none)) {
    std::lock_guard lock(counters_mu_);
    ++counters_.output_frames;
  }
}

void VllmDoor::Impl::send_stats(bool force) {
  const EngineStats s = engine_.stats();
  SchedulerStatsOut out;
  out.running = s.running;
  out.waiting = s.waiting + s.preempted;
  out.kv_cache_usage = s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / s.kv_blocks_total : 0.0;
  out.prefix_requests = adds_since_stats_;
  // The frontend turns these into Prometheus counters, which refuse a
  // negative step; totals that went back (a new engine) count from zero.
  out.prefix_queries = s.prefix_query_tokens >= last_queries_ ? s.prefix_query_tokens - last_queries_ : s.prefix_query_tokens;
  out.prefix_hits = s.prefix_hit_tokens >= last_hits_ ? s.prefix_hit_tokens - last_hits_ : s.prefix_hit_tokens;
  out.prefix_hits = std::min(out.prefix_hits, out.prefix_queries);
  const bool changed = !stats_sent_ || out.running != last_stats_.running || out.waiting != last_stats_.waiting ||
                       out.kv_cache_usage != last_stats_.kv_cache_usage || out.prefix_queries != 0 ||
                       out.prefix_requests != 0;
  if (!changed && !force) return;
  last_queries_ = s.prefix_query_tokens;
  last_hits_ = s.prefix_hit_tokens;
  adds_since_stats_ = 0;
  last_stats_ = out;
  stats_sent_ = true;
  pending_.stats = out;
}

void VllmDoor::Impl::on_timer(DoorClock::time_point now) {
  if (now >= next_stats_) {
    send_stats(false);
    next_stats_ = now + options_.stats_interval;
  }
  if (now >= next_health_) {
    next_health_ = now + options_.health_interval;
    const EngineHealth h = engine_.health();
    if (h.ok) unhealthy_since_.reset();
    else if (!unhealthy_since_) unhealthy_since_ = now;
    if (unhealthy_since_ && now - *unhealthy_since_ >= options_.unhealthy_grace)
      send_dead("the engine is unhealthy: " + h.detail);
  }
  if (draining_ && !exited_) {
    if (!jobs_.empty() && now >= drain_deadline_) {
      for (auto& [id, job] : jobs_) {
        engine_.cancel(id);
        if (!job.aborted && !job.finished) finish(id, WireFinish::kAbort);
        job.finished = true;
      }
    }
    if (jobs_.empty() || now >= drain_deadline_) send_dead("drained");
  }
}

void VllmDoor::Impl::send_dead(const std::string& why) {
  if (exited_) return;
  flush();
  std::fprintf(stderr, "loom vllm door: sending ENGINE_CORE_DEAD (%s)\n", why.c_str());
  // Declared dead before the frontend can see it: whoever reads the message
  // and then asks dead() must get true.
  dead_ = true;
  (void)output_.send(zmq::buffer(std::string(vllm_wire::kEngineCoreDead)), zmq::send_flags::none);
  exited_ = true;
}

}  // namespace loom
