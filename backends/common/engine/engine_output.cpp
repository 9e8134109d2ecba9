// The output thread: detokenize, apply stop strings, call the callbacks.
#include "backends/common/engine/engine.h"
#include "backends/common/engine/engine_jobs.h"

namespace loom {
namespace {

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void call(const JobCallback& cb, const JobEvent& ev) {
  try {
    cb(ev);
  } catch (...) {
    // A throwing callback must not take the engine down; the event is lost to
    // that caller only.
  }
}

}  // namespace

void Engine::output_main() {
  while (auto msg = output_q_.pop()) handle_output(*msg);
  // Closed: anything still registered ends now (only reachable if the engine
  // thread died, which it does not by design).
  for (auto& [rid, job] : output_jobs_) {
    JobEvent ev;
    ev.kind = JobEvent::Kind::kError;
    ev.id = job->id;
    ev.error_code = ErrorCode::kUnavailable;
    ev.message = "the engine stopped";
    call(job->callback, ev);
  }
  output_jobs_.clear();
}

void Engine::handle_output(OutMsg& msg) {
  if (msg.kind == OutMsg::Kind::kReject) {
    JobEvent ev;
    ev.kind = JobEvent::Kind::kError;
    ev.id = msg.id;
    ev.error_code = msg.code;
    ev.message = msg.message;
    if (msg.rid != 0) {  // it had been accepted into ids_
      std::lock_guard lock(ids_mu_);
      ids_.erase(msg.id);
      --pending_jobs_;
    }
    call(msg.callback, ev);
    return;
  }
  if (msg.kind == OutMsg::Kind::kRegister) {
    auto job = std::make_unique<OutputJob>(*model_.tokenizer, std::move(msg.stop));
    job->id = std::move(msg.id);
    job->callback = std::move(msg.callback);
    job->stream = msg.stream;
    job->prompt_tokens = msg.prompt_tokens;
    job->arrival = msg.arrival;
    output_jobs_.emplace(msg.rid, std::move(job));
    return;
  }
  auto it = output_jobs_.find(msg.rid);
  if (it == output_jobs_.end()) return;
  OutputJob& job = *it->second;
  if (job.done) {  // a stop string ended it early; drop it once the engine lets go
    if (msg.kind != OutMsg::Kind::kTokens && msg.kind != OutMsg::Kind::kPromptLogprobs) output_jobs_.erase(it);
    return;
  }
  if (msg.kind == OutMsg::Kind::kPromptLogprobs) {
    job.prompt_logprobs.insert(job.prompt_logprobs.end(), msg.prompt_logprobs.begin(), msg.prompt_logprobs.end());
    return;
  }
  if (msg.first_scheduled) job.first_scheduled = msg.first_scheduled;
  job.cached_tokens = msg.cached_tokens;
  if (msg.kind == OutMsg::Kind::kTokens) return on_tokens(job, msg);

  JobEvent ev;
  ev.id = job.id;
  if (msg.kind == OutMsg::Kind::kError) {
    ev.kind = JobEvent::Kind::kError;
    ev.error_code = msg.code;
    ev.message = msg.message;
  } else {
    // Whatever the detokenizer and the stop matcher still hold is final text.
    ev.kind = JobEvent::Kind::kDone;
    ev.finish_reason = msg.reason;
    std::string rest = job.stops.push(job.detok.flush()).emit + job.stops.flush();
    if (job.stream) {
      if (!rest.empty()) {
        JobEvent delta;
        delta.kind = JobEvent::Kind::kDelta;
        delta.id = job.id;
        delta.text = std::move(rest);
        call(job.callback, delta);
      }
    } else {
      job.text += rest;
    }
  }
  finish_job(msg.rid, job, ev);
}

void Engine::on_tokens(OutputJob& job, OutMsg& msg) {
  const auto now = Clock::now();
  if (!job.first_token) job.first_token = now;
  std::string text;
  for (int32_t id : msg.tokens) text += job.detok.push(id);
  job.completion_tokens += static_cast<int32_t>(msg.tokens.size());
  const auto matched = job.stops.push(text);
  JobEvent delta;
  delta.kind = JobEvent::Kind::kDelta;
  delta.id = job.id;
  delta.text = matched.emit;
  delta.token_ids = std::move(msg.tokens);
  delta.logprobs = std::move(msg.logprobs);
  if (job.stream) {
    call(job.callback, delta);
  } else {
    job.text += delta.text;
    job.tokens.insert(job.tokens.end(), delta.token_ids.begin(), delta.token_ids.end());
    job.logprobs.insert(job.logprobs.end(), delta.logprobs.begin(), delta.logprobs.end());
  }
  if (matched.stopped) {
    JobEvent done;
    done.kind = JobEvent::Kind::kDone;
    done.id = job.id;
    done.finish_reason = FinishReason::kStop;
    post_engine(EngineCommand{EngineCommand::Kind::kStopQuietly, msg.rid, std::nullopt});
    job.done = true;
    finish_job(msg.rid, job, done);
  }
}

// Sends the one terminal event and forgets the job (the id may be reused).
void Engine::finish_job(uint64_t rid, OutputJob& job, const JobEvent& terminal) {
  JobEvent ev = terminal;
  const auto now = Clock::now();
  ev.usage = {job.prompt_tokens, job.completion_tokens, job.cached_tokens};
  ev.timing.queue_ms = job.first_scheduled ? ms_between(job.arrival, *job.first_scheduled) : ms_between(job.arrival, now);
  ev.timing.ttft_ms = job.first_token ? ms_between(job.arrival, *job.first_token) : 0.0;
  ev.timing.total_ms = ms_between(job.arrival, now);
  if (ev.kind == JobEvent::Kind::kDone) ev.prompt_logprobs = std::move(job.prompt_logprobs);
  if (!job.stream && ev.kind == JobEvent::Kind::kDone) {
    ev.text = std::move(job.text);
    ev.token_ids = std::move(job.tokens);
    ev.logprobs = std::move(job.logprobs);
  }
  const JobCallback callback = std::move(job.callback);
  const std::string id = job.id;
  {
    std::lock_guard lock(ids_mu_);
    auto it = ids_.find(id);
    if (it != ids_.end() && it->second == rid) ids_.erase(it);
    --pending_jobs_;
  }
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.jobs_finished;
  }
  // A job stopped early stays as a tombstone until the engine's own finish.
  if (!job.done) output_jobs_.erase(rid);
  call(callback, ev);
}

}  // namespace loom
