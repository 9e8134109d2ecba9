// The engine thread: schedule -> execute -> update, one step at a time.
#include <algorithm>
#include <stdexcept>
#include <thread>

#include "backends/common/engine/engine.h"
#include "backends/common/engine/engine_jobs.h"

namespace loom {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

bool is_stop_token(const Tokenizer& tok, const JobParams& p, int32_t id) {
  if (!p.ignore_eos && tok.is_eog(id)) return true;
  return std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), id) != p.stop_token_ids.end();
}

TokenLogprobs to_logprobs(const sampling::SampleResult& r) {
  TokenLogprobs lp;
  lp.token = r.token;
  lp.logprob = r.logprob;
  for (const auto& alt : r.top) lp.top.emplace_back(alt.token, alt.logprob);
  return lp;
}

}  // namespace

void Engine::engine_main() {
  while (take_inbox(/*may_wait=*/!scheduler_->has_unfinished())) {
    last_progress_ns_ = now_ns();
    if (!scheduler_->has_unfinished()) continue;
    const int64_t step_start = last_progress_ns_.load();
    try {
      run_step();
    } catch (const ExecutorFatal& e) {
      fail_engine(e.what());
    } catch (const std::exception& e) {
      recover(e.what());
    }
    const int64_t step_end = now_ns();
    slowest_step_ns_ = std::max(slowest_step_ns_.load(), step_end - step_start);
    last_progress_ns_ = step_end;
  }
}

// The backend cannot go on: every job in the engine ends with one `internal`
// error now, health turns not ok, and whatever arrives later is refused the
// same way (admit). The host sees health and exits.
void Engine::fail_engine(const std::string& cause) {
  {
    std::lock_guard lock(stats_mu_);
    failure_ = cause;
  }
  failed_ = true;
  for (auto& [rid, job] : engine_jobs_)
    if (!job->failed) fail_job(rid, "the engine failed: " + cause);
  engine_jobs_.clear();
  scheduler_ = std::make_unique<sched::Scheduler>(scheduler_->config());
}

void Engine::fail_job(uint64_t rid, const std::string& message) {
  OutMsg msg;
  msg.kind = OutMsg::Kind::kError;
  msg.rid = rid;
  msg.code = ErrorCode::kInternal;
  msg.message = message;
  post_output(std::move(msg));
}

// A step broke in a way fail_plan() could not contain (a bug): every job in
// the engine gets an `internal` error and the scheduler starts afresh, so the
// process keeps serving and no job is left without its terminal event.
void Engine::recover(const std::string& what) {
  for (auto& [rid, job] : engine_jobs_) {
    if (job->failed) continue;
    OutMsg msg;
    msg.kind = OutMsg::Kind::kError;
    msg.rid = rid;
    msg.code = ErrorCode::kInternal;
    msg.message = "engine step failed: " + what;
    post_output(std::move(msg));
  }
  engine_jobs_.clear();
  scheduler_ = std::make_unique<sched::Scheduler>(scheduler_->config());
}

// Applies queued commands; returns false when the engine should exit.
bool Engine::take_inbox(bool may_wait) {
  std::deque<EngineCommand> commands;
  {
    std::unique_lock lock(inbox_mu_);
    if (may_wait) {
      busy_ = false;
      // Wake now and then so health() sees an idle loop as alive.
      inbox_cv_.wait_for(lock, std::chrono::milliseconds(500),
                         [&] { return stop_engine_ || !inbox_.empty(); });
    }
    if (stop_engine_ && inbox_.empty() && !scheduler_->has_unfinished()) return false;
    commands.swap(inbox_);
  }
  busy_ = true;
  for (auto& cmd : commands) {
    if (cmd.kind == EngineCommand::Kind::kNewJob) {
      admit(std::move(*cmd.job));
    } else if (engine_jobs_.count(cmd.rid)) {
      scheduler_->cancel(cmd.rid);  // kStopQuietly too: the output thread ignores its finish
    } else {
      cancelled_early_.insert(cmd.rid);  // its NewJob is still in intake
    }
  }
  return true;
}

void Engine::admit(NewJob job) {
  auto finish_now = [&](FinishReason reason) {
    OutMsg msg;
    msg.kind = OutMsg::Kind::kFinish;
    msg.rid = job.rid;
    msg.reason = reason;
    post_output(std::move(msg));
  };
  if (cancelled_early_.erase(job.rid)) return finish_now(FinishReason::kCancelled);
  if (failed_) return fail_job(job.rid, "the engine failed: " + failure());
  sched::RequestSpec spec;
  spec.id = job.rid;
  spec.prompt = job.prompt;
  spec.max_new_tokens = job.params.max_tokens;
  spec.priority = job.priority;
  spec.arrival = job.arrival;
  spec.deadline = job.deadline;
  spec.prompt_logprobs = job.params.prompt_logprobs != 0;
  try {
    scheduler_->add(spec);
  } catch (const std::exception& e) {
    OutMsg msg;
    msg.kind = OutMsg::Kind::kError;
    msg.rid = job.rid;
    msg.code = ErrorCode::kTooLong;
    msg.message = e.what();
    return post_output(std::move(msg));
  }
  engine_jobs_.emplace(job.rid, std::make_unique<EngineJob>(job.params));
  std::lock_guard lock(stats_mu_);
  stats_.prompt_tokens_total += static_cast<int64_t>(job.prompt.size());
}

void Engine::run_step() {
  const auto now = Clock::now();
  sched::StepPlan plan = scheduler_->schedule(now);
  for (const auto& f : plan.finished) report_finish(f);
  if (plan.empty()) {
    // Every plan goes back to the scheduler, the empty ones too. Nothing to
    // run while requests exist (all blocked) is not expected; don't spin.
    scheduler_->update(plan, std::span<const sched::SampledToken>{});
    if (scheduler_->has_unfinished()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return publish_stats(&plan, 0);
  }

  std::vector<RowSampling> rows(plan.num_logits_rows);
  for (const auto& seq : plan.seqs) {
    if (seq.padding) continue;  // a finished request's row: no job any more
    EngineJob& job = *engine_jobs_.at(seq.id);
    if (!job.first_scheduled) {
      job.first_scheduled = now;
      job.cached_tokens = seq.num_cached_tokens;
    }
    if (seq.sample)
      rows[seq.logits_row] = RowSampling{&job.sampler, job.params.logprobs, job.params.logprobs > 0};
  }
  std::vector<sampling::SampleResult> results;
  try {
    if (config_.debug_fail_step > 0 && ++steps_run_ == config_.debug_fail_step)
      throw ExecutorFatal("debug_fail_step " + std::to_string(config_.debug_fail_step) +
                          ": injected fatal backend failure");
    results = executor_->execute(plan, rows);
  } catch (const ExecutorFatal&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw ExecutorFatal("out of memory inside a step");
  } catch (const std::exception& e) {
    return fail_plan(plan, e.what());
  }

  post_prompt_logprobs(plan);
  std::vector<sched::SampledToken> sampled(plan.num_logits_rows);
  for (const auto& seq : plan.seqs) {
    if (!seq.sample) continue;
    EngineJob& job = *engine_jobs_.at(seq.id);
    const auto& r = results[seq.logits_row];
    sampled[seq.logits_row] = {r.token, is_stop_token(*model_.tokenizer, job.params, r.token)};
    if (sampled[seq.logits_row].stop) continue;  // end-of-generation tokens are not text
    OutMsg msg;
    msg.kind = OutMsg::Kind::kTokens;
    msg.rid = seq.id;
    msg.tokens = {r.token};
    if (job.params.logprobs > 0) msg.logprobs.push_back(to_logprobs(r));
    msg.first_scheduled = job.first_scheduled;
    msg.cached_tokens = job.cached_tokens;
    post_output(std::move(msg));
  }
  for (const auto& f : scheduler_->update(plan, sampled)) report_finish(f);
  publish_stats(&plan, plan.num_logits_rows);
}

// The step's prompt log-probabilities, each position once (a preempted job
// recomputes positions it has already reported), before the step's tokens.
void Engine::post_prompt_logprobs(const sched::StepPlan& plan) {
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const auto& seq = plan.seqs[i];
    if (seq.padding || seq.logprob_targets.empty()) continue;
    const std::span<const float> values = executor_->prompt_logprobs(i);
    if (values.size() != seq.logprob_targets.size())
      throw std::logic_error("executor returned " + std::to_string(values.size()) + " prompt logprobs for " +
                             std::to_string(seq.logprob_targets.size()) + " targets");
    EngineJob& job = *engine_jobs_.at(seq.id);
    const int32_t end = seq.start_pos + static_cast<int32_t>(values.size());
    if (end <= job.prompt_logprobs_sent) continue;
    if (seq.start_pos > job.prompt_logprobs_sent)
      throw std::logic_error("prompt logprobs skip positions " + std::to_string(job.prompt_logprobs_sent) +
                             ".." + std::to_string(seq.start_pos));
    OutMsg msg;
    msg.kind = OutMsg::Kind::kPromptLogprobs;
    msg.rid = seq.id;
    msg.prompt_logprobs.assign(values.begin() + (job.prompt_logprobs_sent - seq.start_pos), values.end());
    job.prompt_logprobs_sent = end;
    post_output(std::move(msg));
  }
}

// A request left the scheduler: its finish goes to the output thread (unless
// an error already ended it there) and its engine-side state is dropped.
void Engine::report_finish(const sched::FinishedRequest& f) {
  auto it = engine_jobs_.find(f.id);
  if (it == engine_jobs_.end()) return;
  if (!it->second->failed) {
    OutMsg msg;
    msg.kind = OutMsg::Kind::kFinish;
    msg.rid = f.id;
    msg.reason = f.reason;
    msg.first_scheduled = it->second->first_scheduled;
    msg.cached_tokens = it->second->cached_tokens;
    post_output(std::move(msg));
  }
  engine_jobs_.erase(it);
}

// The executor failed: every job of the step gets an `internal` error and
// leaves the scheduler (its later cancellation is not reported again).
void Engine::fail_plan(const sched::StepPlan& plan, const std::string& message) {
  for (const auto& seq : plan.seqs) {
    if (seq.padding) continue;
    EngineJob& job = *engine_jobs_.at(seq.id);
    if (job.failed) continue;
    job.failed = true;
    scheduler_->cancel(seq.id);
    OutMsg msg;
    msg.kind = OutMsg::Kind::kError;
    msg.rid = seq.id;
    msg.code = ErrorCode::kInternal;
    msg.message = "backend step failed: " + message;
    post_output(std::move(msg));
  }
  std::vector<sched::SampledToken> none(plan.num_logits_rows);
  scheduler_->update(plan, none);  // hands the plan back; cancelled jobs leave at the next schedule()
}

void Engine::publish_stats(const sched::StepPlan* plan, int64_t new_tokens) {
  const auto s = scheduler_->stats();
  const auto now = Clock::now();
  std::lock_guard lock(stats_mu_);
  stats_.waiting = s.num_waiting;
  stats_.running = s.num_running;
  stats_.preempted = s.num_preempted;
  stats_.kv_blocks_used = s.blocks_used;
  stats_.kv_blocks_total = s.blocks_total;
  stats_.prefix_hit_rate = s.prefix_hit_rate();
  stats_.preemptions = s.preemptions;
  stats_.prefix_query_tokens = s.prefix_query_tokens;
  stats_.prefix_hit_tokens = s.prefix_hit_tokens;
  stats_.generation_tokens_total += new_tokens;
  token_history_.emplace_back(now, new_tokens);
  while (!token_history_.empty() && now - token_history_.front().first > std::chrono::seconds(5))
    token_history_.pop_front();
  int64_t sum = 0;
  for (const auto& [t, n] : token_history_) sum += n;
  const double span = token_history_.size() > 1
                          ? std::chrono::duration<double>(now - token_history_.front().first).count()
                          : 0.0;
  stats_.tokens_per_second = span > 0 ? sum / span : 0.0;
}

}  // namespace loom
