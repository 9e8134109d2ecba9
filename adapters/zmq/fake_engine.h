// FakeEngine: a scripted EngineApi for tests, the Python client's test
// server and the protocol benchmark. Not a model: job J with prompt P emits
// max_tokens deltas "P:0 ", "P:1 ", ... (token ids 0, 1, ...), one token per
// job per step on its own thread, then done/length. Prompt "hang" never
// finishes until cancelled; input_ids [i...] behave like prompt "ids".
// Honors the EngineApi contract: callbacks on the engine thread, never inside
// submit; exactly one terminal event; stream == false gives one done; a job
// that fails the contract's check (validate_job, what a backend's C ABI door
// runs) is refused with that JobError, as a real backend would refuse it.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <set>
#include <thread>

#include "contract/engine_api.h"
#include "contract/validate.h"

namespace loom::testing {

class FakeEngine : public EngineApi {
 public:
  explicit FakeEngine(std::chrono::microseconds step = std::chrono::microseconds(0), size_t capacity = 100000)
      : step_(step), capacity_(capacity), thread_([this] { loop(); }) {}
  ~FakeEngine() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void submit(JobRequest request, JobCallback callback) override {
    std::lock_guard lock(mu_);
    Job job;
    job.request = std::move(request);
    job.callback = std::move(callback);
    if (const auto* p = std::get_if<std::string>(&job.request.prompt.value)) job.prompt = *p;
    else job.prompt = "ids";
    job.overloaded = jobs_.size() >= capacity_;
    job.refusal = validate_job(job.request);
    submitted_.insert(job.request.id);
    jobs_.push_back(std::move(job));
    cv_.notify_all();
  }
  void cancel(const std::string& id) override {
    std::lock_guard lock(mu_);
    for (auto& j : jobs_) {
      if (j.request.id == id) {
        j.cancel = true;
        cancelled_.insert(id);
      }
    }
    cv_.notify_all();
  }
  EngineStats stats() const override {
    std::lock_guard lock(mu_);
    EngineStats s;
    s.running = static_cast<int32_t>(jobs_.size());
    s.jobs_finished = finished_;
    s.kv_blocks_total = 1000;
    return s;
  }
  EngineHealth health() const override { return EngineHealth{true, 0.0, "fake engine"}; }
  ModelInfo model_info() const override { return ModelInfo{"fake", 4096, 256, {0}}; }
  // Bytes as token ids: enough for a door's tokenize/detokenize round trip.
  std::vector<int32_t> tokenize(const std::string& text, bool, bool) const override {
    return std::vector<int32_t>(text.begin(), text.end());
  }
  std::string detokenize(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || id >= 256) throw EngineInputError("id " + std::to_string(id) + " is outside [0, 256)");
      out.push_back(static_cast<char>(id));
    }
    return out;
  }

  // Ids (engine-side) that were cancelled while in flight.
  std::set<std::string> cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  size_t in_flight() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
  }
  size_t submitted() const {
    std::lock_guard lock(mu_);
    return submitted_.size();
  }

 private:
  struct Job {
    JobRequest request;
    JobCallback callback;
    std::string prompt;
    int32_t produced = 0;
    std::string text;
    std::vector<int32_t> ids;
    bool cancel = false;
    bool overloaded = false;
    std::optional<JobError> refusal;
  };

  // One step: every job advances by one token or finishes. Callbacks run
  // outside the lock, so they may call cancel().
  void loop() {
    for (;;) {
      std::vector<std::pair<JobCallback, JobEvent>> out;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        for (auto it = jobs_.begin(); it != jobs_.end();) {
          if (advance(*it, out)) {
            ++finished_;
            it = jobs_.erase(it);
          } else {
            ++it;
          }
        }
      }
      for (auto& [cb, ev] : out) cb(ev);
      if (step_.count() > 0) std::this_thread::sleep_for(step_);
    }
  }

  // Appends the job's next event; true when it was terminal.
  static bool advance(Job& j, std::vector<std::pair<JobCallback, JobEvent>>& out) {
    JobEvent ev;
    ev.id = j.request.id;
    if (j.refusal) {
      ev.kind = JobEvent::Kind::kError;
      ev.error_code = j.refusal->code;
      ev.field = j.refusal->field;
      ev.message = j.refusal->message;
      out.emplace_back(j.callback, std::move(ev));
      return true;
    }
    if (j.overloaded) {
      ev.kind = JobEvent::Kind::kError;
      ev.error_code = ErrorCode::kOverloaded;
      ev.message = "fake engine queue full";
      out.emplace_back(j.callback, std::move(ev));
      return true;
    }
    const bool hang = j.prompt == "hang";
    if (j.cancel || (!hang && j.produced >= j.request.params.max_tokens)) {
      ev.kind = JobEvent::Kind::kDone;
      ev.finish_reason = j.cancel ? FinishReason::kCancelled : FinishReason::kLength;
      ev.usage.completion_tokens = j.produced;
      ev.usage.prompt_tokens = 1;
      if (!j.request.stream) {
        ev.text = j.text;
        ev.token_ids = j.ids;
      }
      out.emplace_back(j.callback, std::move(ev));
      return true;
    }
    if (hang) return false;
    const std::string piece = j.prompt + ":" + std::to_string(j.produced) + " ";
    j.text += piece;
    j.ids.push_back(j.produced);
    if (j.request.stream) {
      ev.kind = JobEvent::Kind::kDelta;
      ev.text = piece;
      ev.token_ids = {j.produced};
      out.emplace_back(j.callback, std::move(ev));
    }
    ++j.produced;
    return false;
  }

  std::chrono::microseconds step_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<Job> jobs_;
  std::set<std::string> cancelled_, submitted_;
  int64_t finished_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace loom::testing
