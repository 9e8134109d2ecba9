// ScriptEngine: a scripted loom::EngineApi for the HTTP door's tests. Not a
// model: a job emits max_tokens tokens, token i has id i and text "t<i> ",
// one token per job per step on the engine's own thread, then done/length.
// Prompts with a meaning: "hang" runs until cancelled; "overload" is refused
// `overloaded`; "toolong" is refused `too_long` on field "max_tokens";
// "fail" fails `internal` after two tokens. ignore_cancels() makes it slow to
// obey a cancel. The vocabulary is 1000 ids;
// tokenize gives one id per space-separated word (its length).
#pragma once
#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "contract/engine_api.h"

namespace loom::testing {

class ScriptEngine : public EngineApi {
 public:
  explicit ScriptEngine(std::chrono::microseconds step = std::chrono::microseconds(200)) : step_(step) {
    thread_ = std::thread([this] { loop(); });
  }
  ~ScriptEngine() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void submit(JobRequest request, JobCallback callback) override {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{std::move(request), std::move(callback)});
    ++submitted_;
    cv_.notify_all();
  }
  void cancel(const std::string& id) override {
    std::lock_guard lock(mu_);
    cancelled_.insert(id);
    if (ignore_cancels_) return;
    for (auto& j : jobs_)
      if (j.request.id == id) j.cancelled = true;
    cv_.notify_all();
  }
  EngineStats stats() const override {
    std::lock_guard lock(mu_);
    EngineStats s;
    s.running = static_cast<int32_t>(jobs_.size());
    s.kv_blocks_total = 100;
    s.kv_blocks_used = static_cast<int64_t>(jobs_.size());
    s.generation_tokens_total = generated_;
    s.prompt_tokens_total = 7;
    return s;
  }
  EngineHealth health() const override { return EngineHealth{true, 0.0, "script"}; }
  ModelInfo model_info() const override { return ModelInfo{"script-model", 2048, 1000, {999}}; }
  std::vector<int32_t> tokenize(const std::string& text, bool, bool) const override {
    std::istringstream in(text);
    std::vector<int32_t> ids;
    for (std::string w; in >> w;) ids.push_back(static_cast<int32_t>(w.size()));
    return ids;
  }
  std::string detokenize(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || id >= 1000) throw EngineInputError("token id " + std::to_string(id) + " outside [0, 1000)");
      out += "t" + std::to_string(id) + " ";
    }
    return out;
  }
  // A slow engine: cancels are noted but jobs run on (a "hang" job until the
  // engine itself stops), so events arrive after the door has let go.
  void ignore_cancels() {
    std::lock_guard lock(mu_);
    ignore_cancels_ = true;
  }
  size_t in_flight() const {
    std::lock_guard lock(mu_);
    return jobs_.size();
  }
  size_t submitted() const {
    std::lock_guard lock(mu_);
    return submitted_;
  }
  std::set<std::string> cancelled() const {
    std::lock_guard lock(mu_);
    return cancelled_;
  }
  std::vector<JobRequest> requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  struct Job {
    JobRequest request;
    JobCallback callback;
    int32_t emitted = 0;
    bool cancelled = false;
    std::string text;
    std::vector<int32_t> ids;
  };
  static std::string prompt_of(const JobRequest& r) {
    if (const auto* p = std::get_if<std::string>(&r.prompt.value)) return *p;
    if (const auto* m = std::get_if<std::vector<ChatTurn>>(&r.prompt.value); m && !m->empty()) return m->back().content;
    return "ids";
  }
  // One step: every job emits one token or ends. Returns the events to send.
  void step(std::vector<std::pair<JobCallback, JobEvent>>& out) {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& j = *it;
      const std::string p = prompt_of(j.request);
      JobEvent ev;
      ev.id = j.request.id;
      bool end = true;
      if (p == "overload" || p == "toolong") {
        ev.kind = JobEvent::Kind::kError;
        ev.error_code = p == "overload" ? ErrorCode::kOverloaded : ErrorCode::kTooLong;
        ev.field = p == "toolong" ? "max_tokens" : "";
        ev.message = p == "toolong" ? "prompt (3 tokens) + max_tokens (5000) exceeds the context (2048)" : "queue full";
      } else if (p == "fail" && j.emitted == 2) {
        ev.kind = JobEvent::Kind::kError;
        ev.error_code = ErrorCode::kInternal;
        ev.message = "scripted failure";
      } else if (j.cancelled || (p != "hang" && j.emitted >= j.request.params.max_tokens)) {
        ev.kind = JobEvent::Kind::kDone;
        ev.finish_reason = j.cancelled ? FinishReason::kCancelled : FinishReason::kLength;
        ev.usage = {3, j.emitted, 0};
        ev.timing = {1.0, 2.0, 3.0};
        if (!j.request.stream) {
          ev.text = j.text;
          ev.token_ids = j.ids;
          if (j.request.params.logprobs > 0)
            for (int32_t id : j.ids) ev.logprobs.push_back(TokenLogprobs{id, -0.5f, {{id, -0.5f}, {id + 1, -1.5f}}});
        }
      } else {
        end = false;
        const int32_t id = j.emitted++ % 1000;
        ++generated_;
        const std::string t = "t" + std::to_string(id) + " ";
        j.text += t;
        j.ids.push_back(id);
        if (j.request.stream) {
          ev.kind = JobEvent::Kind::kDelta;
          ev.text = t;
          ev.token_ids = {id};
          if (j.request.params.logprobs > 0) ev.logprobs.push_back(TokenLogprobs{id, -0.5f, {{id, -0.5f}, {id + 1, -1.5f}}});
        }
      }
      if (end || j.request.stream) out.emplace_back(j.callback, ev);
      it = end ? jobs_.erase(it) : std::next(it);
    }
  }
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) break;
      std::vector<std::pair<JobCallback, JobEvent>> out;
      for (auto& j : jobs_)
        if (j.emitted == 0 && !j.cancelled) seen_.push_back(j.request);
      step(out);
      lock.unlock();
      for (auto& [cb, ev] : out) cb(ev);
      std::this_thread::sleep_for(step_);
      lock.lock();
    }
    for (auto& j : jobs_) {  // still running at shutdown: each gets its terminal event
      JobEvent ev;
      ev.id = j.request.id;
      ev.kind = JobEvent::Kind::kError;
      ev.error_code = ErrorCode::kUnavailable;
      ev.message = "stopped";
      j.callback(ev);
    }
  }

  std::chrono::microseconds step_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<Job> jobs_;
  std::vector<JobRequest> seen_;
  std::set<std::string> cancelled_;
  size_t submitted_ = 0;
  int64_t generated_ = 0;
  bool stop_ = false;
  bool ignore_cancels_ = false;
  std::thread thread_;
};

}  // namespace loom::testing
