// The engine: turns jobs into scheduler steps and streams results back.
//
// Three threads, each owning its own state (see README.md):
//   intake  - renders chat templates, tokenizes, rejects bad or too-long jobs;
//   engine  - the loop: schedule -> execute -> update, and sampling;
//   output  - detokenizes, applies stop strings, calls the job callbacks.
// Every callback runs on the output thread, and every accepted job gets
// exactly one terminal event there. (After drain() has returned, a submit is
// rejected with `unavailable` on the caller's own thread.)
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "contract/engine_api.h"
#include "backends/common/engine/executor.h"
#include "backends/common/engine/job_messages.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "scheduler/scheduler.h"

namespace loom {

struct EngineConfig {
  int32_t max_num_seqs = 32;         // sequences per step
  int32_t max_batched_tokens = 512;  // tokens per step (<= the executor's max_batch_tokens)
  int32_t max_pending_jobs = 256;    // accepted and unfinished; more get `overloaded`
  int32_t max_preemptions = 2;       // per request, then it is admitted with reserved blocks
  std::shared_ptr<const sched::CapacityPolicy> policy;  // null: continuous batching
  // Test hook (config key "debug_fail_step"): step N (1-based) throws
  // ExecutorFatal where the executor runs, as a lost device would. 0: off.
  int64_t debug_fail_step = 0;
};

struct ModelFacts {
  std::string name;  // shown to clients (ModelInfo::name)
  const Tokenizer* tokenizer = nullptr;
  std::string chat_template;  // may be empty: `messages` jobs are then rejected
  int32_t n_vocab = 0;
};

// The scheduler an engine runs for `executor`: its KV pools (the window
// pool included), block size, step size and context, with the engine's
// sequence and preemption limits. Validated (throws sched::SchedulerError).
// Also for callers that drive a Scheduler and an Executor themselves (tests).
sched::SchedulerConfig scheduler_config(const EngineConfig& config, const Executor& executor);

class Engine final : public EngineApi {
 public:
  Engine(const EngineConfig& config, std::unique_ptr<Executor> executor, ModelFacts model);
  ~Engine() override;

  void submit(JobRequest request, JobCallback callback) override;
  void cancel(const std::string& id) override;
  EngineStats stats() const override;
  EngineHealth health() const override;
  ModelInfo model_info() const override;
  std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;

  // Stops accepting (new jobs get `unavailable`), lets jobs in flight finish
  // for up to `timeout`, cancels the rest, and joins the threads. Idempotent.
  void drain(std::chrono::milliseconds timeout);

 private:
  struct EngineJob;  // engine-thread state of one request (engine_loop.cpp)
  struct OutputJob;  // output-thread state of one request (engine_output.cpp)

  // intake thread (engine_intake.cpp)
  void intake_main();
  bool tokenize_job(IntakeItem& item, std::vector<int32_t>& tokens);
  // engine thread (engine_loop.cpp)
  void engine_main();
  bool take_inbox(bool may_wait);
  void admit(NewJob job);
  void run_step();
  void post_prompt_logprobs(const sched::StepPlan& plan);
  void fail_plan(const sched::StepPlan& plan, const std::string& message);
  void recover(const std::string& what);
  void fail_engine(const std::string& cause);
  void fail_job(uint64_t rid, const std::string& message);
  std::string failure() const;
  void report_finish(const sched::FinishedRequest& f);
  void publish_stats(const sched::StepPlan* plan, int64_t new_tokens);
  // output thread (engine_output.cpp)
  void output_main();
  void handle_output(OutMsg& msg);
  void on_tokens(OutputJob& job, OutMsg& msg);
  void finish_job(uint64_t rid, OutputJob& job, const JobEvent& terminal);
  void post_output(OutMsg msg);
  void post_engine(EngineCommand cmd);
  void reject(const std::string& id, const JobCallback& cb, ErrorCode code, std::string message,
              uint64_t rid = 0);

  const EngineConfig config_;
  std::unique_ptr<Executor> executor_;
  const ModelFacts model_;
  const Clock::time_point started_ = Clock::now();

  // Job ids in flight (submit .. terminal event), for duplicates and cancel.
  mutable std::mutex ids_mu_;
  std::unordered_map<std::string, uint64_t> ids_;
  uint64_t next_rid_ = 1;
  std::atomic<int32_t> pending_jobs_{0};
  std::atomic<bool> accepting_{true};
  std::atomic<bool> failed_{false};  // a fatal executor error: see ExecutorFatal
  std::string failure_;              // its cause (guarded by stats_mu_)
  int64_t steps_run_ = 0;            // engine thread

  // Queues between threads: mutex + condition variable each.
  BlockingQueue<IntakeItem> intake_q_;
  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::deque<EngineCommand> inbox_;
  bool stop_engine_ = false;
  BlockingQueue<OutMsg> output_q_;

  // Engine-thread state.
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::unordered_map<uint64_t, std::unique_ptr<EngineJob>> engine_jobs_;
  std::unordered_set<uint64_t> cancelled_early_;
  // Output-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<OutputJob>> output_jobs_;

  mutable std::mutex stats_mu_;
  EngineStats stats_;
  std::deque<std::pair<Clock::time_point, int64_t>> token_history_;
  std::atomic<int64_t> last_progress_ns_{0};  // loop top and the end of every step
  std::atomic<int64_t> slowest_step_ns_{0};   // sets how long a step may run before health() calls it stuck
  std::atomic<bool> busy_{false};

  std::thread intake_thread_, engine_thread_, output_thread_;
  std::once_flag drained_;
};

}  // namespace loom
