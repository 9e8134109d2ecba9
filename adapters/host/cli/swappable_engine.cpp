#include "adapters/host/cli/swappable_engine.h"

#include <algorithm>
#include <stdexcept>

namespace loom::cli {
namespace {

void add_totals(EngineStats& to, const EngineStats& from) {
  to.preemptions += from.preemptions;
  to.jobs_finished += from.jobs_finished;
  to.prefix_query_tokens += from.prefix_query_tokens;
  to.prefix_hit_tokens += from.prefix_hit_tokens;
  to.prompt_tokens_total += from.prompt_tokens_total;
  to.generation_tokens_total += from.generation_tokens_total;
}

}  // namespace

SwappableEngine::SwappableEngine(std::unique_ptr<PluginEngine> engine)
    : engine_(std::move(engine)), model_(engine_->model_info()) {}

SwappableEngine::~SwappableEngine() = default;

PluginEngine& SwappableEngine::current() {
  std::shared_lock lock(engine_mu_);
  return *engine_;
}

size_t SwappableEngine::swap(const Opener& open_next, const Opener& reopen, std::chrono::milliseconds drain_timeout) {
  {
    std::lock_guard lock(wait_mu_);
    swapping_ = true;
  }
  {
    std::shared_lock lock(engine_mu_);
    engine_->drain(drain_timeout);  // every terminal event delivered when it returns
  }
  std::unique_ptr<PluginEngine> old;
  {
    std::unique_lock lock(engine_mu_);
    old = std::move(engine_);
  }
  const EngineStats last = old->stats();
  {
    std::lock_guard lock(stats_mu_);
    add_totals(retired_, last);
  }
  old.reset();  // unloads the backend .so
  std::unique_ptr<PluginEngine> next;
  std::exception_ptr failure;
  try {
    next = open_next();
  } catch (...) {
    failure = std::current_exception();
    next = reopen();
  }
  {
    std::unique_lock lock(engine_mu_);
    engine_ = std::move(next);
  }
  const size_t waited = resume();
  if (failure) std::rethrow_exception(failure);
  return waited;
}

size_t SwappableEngine::resume() {
  std::lock_guard lock(wait_mu_);
  swapping_ = false;
  std::shared_lock engine_lock(engine_mu_);
  for (auto& [request, callback] : waiting_) engine_->submit(std::move(request), std::move(callback));
  const size_t waited = waiting_.size();
  waiting_.clear();
  return waited;
}

void SwappableEngine::drain(std::chrono::milliseconds timeout) {
  std::shared_lock lock(engine_mu_);
  if (engine_) engine_->drain(timeout);
}

void SwappableEngine::submit(JobRequest request, JobCallback callback) {
  std::lock_guard lock(wait_mu_);
  if (swapping_) {
    waiting_.emplace_back(std::move(request), std::move(callback));
    return;
  }
  std::shared_lock engine_lock(engine_mu_);
  engine_->submit(std::move(request), std::move(callback));
}

void SwappableEngine::cancel(const std::string& id) {
  JobCallback cancelled;
  {
    std::lock_guard lock(wait_mu_);
    auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.first.id == id; });
    if (it != waiting_.end()) {
      cancelled = std::move(it->second);
      waiting_.erase(it);
    }
  }
  if (cancelled) {  // it never reached a backend: its one terminal event is this
    JobEvent ev;
    ev.kind = JobEvent::Kind::kDone;
    ev.id = id;
    ev.finish_reason = FinishReason::kCancelled;
    cancelled(ev);
    return;
  }
  std::shared_lock lock(engine_mu_);
  if (engine_) engine_->cancel(id);
}

EngineStats SwappableEngine::stats() const {
  {
    std::shared_lock lock(engine_mu_);
    if (engine_) {
      EngineStats s = engine_->stats();
      std::lock_guard stats_lock(stats_mu_);
      add_totals(s, retired_);
      last_stats_ = s;
    }
  }
  std::lock_guard wait_lock(wait_mu_);
  std::lock_guard stats_lock(stats_mu_);
  EngineStats s = last_stats_;
  s.waiting += static_cast<int32_t>(waiting_.size());
  return s;
}

EngineHealth SwappableEngine::health() const {
  {
    std::lock_guard lock(wait_mu_);
    if (swapping_) return {true, 0, "swapping backends"};  // a swap is progress, not a stall
  }
  std::shared_lock lock(engine_mu_);
  return engine_ ? engine_->health() : EngineHealth{true, 0, "swapping backends"};
}

std::vector<int32_t> SwappableEngine::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  std::shared_lock lock(engine_mu_);
  if (!engine_) throw std::runtime_error("the backend is being swapped");
  return engine_->tokenize(text, add_special, parse_special);
}

std::string SwappableEngine::detokenize(const std::vector<int32_t>& ids) const {
  std::shared_lock lock(engine_mu_);
  if (!engine_) throw std::runtime_error("the backend is being swapped");
  return engine_->detokenize(ids);
}

}  // namespace loom::cli
