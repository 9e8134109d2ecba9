#include "backends/common/engine/engine.h"

#include <algorithm>

#include "backends/common/engine/engine_jobs.h"

namespace loom {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

sched::SchedulerConfig scheduler_config(const EngineConfig& c, const Executor& ex) {
  sched::SchedulerConfig s;
  s.num_blocks = ex.num_kv_blocks();
  s.block_size = ex.block_size();
  s.max_num_seqs = c.max_num_seqs;
  s.max_batched_tokens = std::min(c.max_batched_tokens, ex.max_batch_tokens());
  s.max_model_len = ex.max_context();
  s.max_preemptions = c.max_preemptions;
  s.window_blocks = ex.num_window_kv_blocks();
  s.window_keep_tokens = ex.window_keep_tokens();
  s.policy = c.policy;
  s.validate();
  return s;
}

Engine::Engine(const EngineConfig& config, std::unique_ptr<Executor> executor, ModelFacts model)
    : config_(config), executor_(std::move(executor)), model_(std::move(model)) {
  scheduler_ = std::make_unique<sched::Scheduler>(scheduler_config(config_, *executor_));
  stats_.kv_blocks_total = executor_->num_kv_blocks();
  last_progress_ns_ = now_ns();
  intake_thread_ = std::thread([this] { intake_main(); });
  engine_thread_ = std::thread([this] { engine_main(); });
  output_thread_ = std::thread([this] { output_main(); });
}

Engine::~Engine() { drain(std::chrono::milliseconds(0)); }

void Engine::submit(JobRequest request, JobCallback callback) {
  const auto arrival = Clock::now();
  if (!callback) return;
  if (failed_.load()) return reject(request.id, callback, ErrorCode::kInternal, "the engine failed: " + failure());
  if (!accepting_.load()) {
    return reject(request.id, callback, ErrorCode::kUnavailable, "the engine is shutting down");
  }
  if (request.id.empty()) return reject(request.id, callback, ErrorCode::kBadRequest, "id must not be empty");
  uint64_t rid = 0;
  {
    std::lock_guard lock(ids_mu_);
    if (ids_.count(request.id))
      return reject(request.id, callback, ErrorCode::kBadRequest,
                    "id '" + request.id + "' is already in flight");
    if (pending_jobs_.load() >= config_.max_pending_jobs)
      return reject(request.id, callback, ErrorCode::kOverloaded,
                    "queue full (" + std::to_string(config_.max_pending_jobs) + " jobs in flight); retry later");
    rid = next_rid_++;
    ids_.emplace(request.id, rid);
    ++pending_jobs_;
  }
  intake_q_.push(IntakeItem{rid, std::move(request), std::move(callback), arrival});
}

void Engine::cancel(const std::string& id) {
  uint64_t rid = 0;
  {
    std::lock_guard lock(ids_mu_);
    auto it = ids_.find(id);
    if (it == ids_.end()) return;
    rid = it->second;
  }
  post_engine(EngineCommand{EngineCommand::Kind::kCancel, rid, std::nullopt});
}

EngineStats Engine::stats() const {
  std::lock_guard lock(stats_mu_);
  EngineStats s = stats_;
  s.uptime_s = std::chrono::duration<double>(Clock::now() - started_).count();
  return s;
}

EngineHealth Engine::health() const {
  EngineHealth h;
  h.last_step_age_ms = (now_ns() - last_progress_ns_.load()) / 1e6;
  // A step stuck for 10 s, or for 4x the slowest step so far when steps are
  // that slow (an emulated device, a huge prefill chunk), means the loop is
  // wedged, not slow.
  if (failed_.load()) {
    h.ok = false;
    h.detail = "failed: " + failure();
    return h;
  }
  const double stuck_ms = std::max(10000.0, 4 * slowest_step_ns_.load() / 1e6);
  h.ok = accepting_.load() && h.last_step_age_ms < stuck_ms;
  h.detail = !accepting_.load() ? "draining"
             : h.ok             ? (busy_.load() ? "running" : "idle")
                                : "engine loop has made no progress for " +
                                      std::to_string(static_cast<int64_t>(h.last_step_age_ms)) + " ms";
  return h;
}

std::string Engine::failure() const {
  std::lock_guard lock(stats_mu_);
  return failure_;
}

ModelInfo Engine::model_info() const {
  ModelInfo m;
  m.name = model_.name;
  m.max_context = executor_->max_context();
  m.n_vocab = model_.n_vocab;
  const auto eog = model_.tokenizer->eog_ids();
  m.eos_ids.assign(eog.begin(), eog.end());
  return m;
}

std::vector<int32_t> Engine::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  return model_.tokenizer->encode(text, add_special, parse_special);
}

std::string Engine::detokenize(const std::vector<int32_t>& ids) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= model_.n_vocab)
      throw EngineInputError("ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                             " is outside the vocabulary [0, " + std::to_string(model_.n_vocab) + ")");
  return model_.tokenizer->decode(ids);
}

void Engine::drain(std::chrono::milliseconds timeout) {
  std::call_once(drained_, [&] {
    accepting_ = false;
    const auto until = Clock::now() + timeout;
    while (pending_jobs_.load() > 0 && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    {
      std::lock_guard lock(ids_mu_);
      for (const auto& [id, rid] : ids_)
        post_engine(EngineCommand{EngineCommand::Kind::kCancel, rid, std::nullopt});
    }
    intake_q_.close();
    intake_thread_.join();
    {
      std::lock_guard lock(inbox_mu_);
      stop_engine_ = true;
    }
    inbox_cv_.notify_all();
    engine_thread_.join();
    output_q_.close();
    output_thread_.join();
  });
}

void Engine::post_output(OutMsg msg) { output_q_.push(std::move(msg)); }

void Engine::post_engine(EngineCommand cmd) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.push_back(std::move(cmd));
  }
  inbox_cv_.notify_one();
}

// A job refused before registration: one kError event, from the output
// thread like every other callback.
void Engine::reject(const std::string& id, const JobCallback& cb, ErrorCode code, std::string message,
                    uint64_t rid) {
  OutMsg msg;
  msg.kind = OutMsg::Kind::kReject;
  msg.rid = rid;
  msg.id = id;
  msg.callback = cb;
  msg.code = code;
  msg.message = std::move(message);
  if (output_q_.push(msg)) return;
  // Drained: no output thread is left, so the caller's thread delivers it.
  JobEvent ev;
  ev.kind = JobEvent::Kind::kError;
  ev.id = msg.id;
  ev.error_code = msg.code;
  ev.message = msg.message;
  cb(ev);
}

}  // namespace loom
