// Continuous-batching scheduler: owns the requests, their states and the KV
// block tables. One engine step is:
//     StepPlan plan = scheduler.schedule(now);
//     results = executor.execute(plan);          // one token per logits row
//     finished = scheduler.update(plan, results);
// Not thread-safe: owned and called by the engine thread only (README).
#pragma once
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "scheduler/kv_cache_manager.h"
#include "scheduler/policy.h"
#include "scheduler/request.h"
#include "scheduler/step_plan.h"
#include "scheduler/types.h"

namespace loom::sched {

struct SchedulerConfig {
  int num_blocks = 0;             // from the backend's KV budget (backends/common/model/kv_budget.h)
  int block_size = 16;            // tokens per KV block
  int max_num_seqs = 64;          // sequences per step
  int max_batched_tokens = 2048;  // tokens per step (>= max_num_seqs)
  int max_model_len = 8192;       // positions the model supports
  int max_preemptions = 2;        // K: livelock bound (README)
  // Sliding-window layers' own pool (0: none, every layer in the one pool):
  // a query at q reads keys from q - window_keep_tokens + 1 on. It must hold
  // min_window_blocks() so no running sequence ever waits for it.
  int window_blocks = 0;
  int window_keep_tokens = 0;
  std::shared_ptr<const CapacityPolicy> policy;  // null: continuous batching (make_continuous_policy)

  void validate() const;  // throws SchedulerError naming the bad field
  // The window pool that every running sequence fits at once (README, "KV cache").
  int min_window_blocks() const;
};

struct RequestSpec {
  RequestId id = 0;
  std::vector<TokenId> prompt;        // non-empty, ids >= 0
  int max_new_tokens = 1;             // >= 1
  int priority = 0;                   // higher first
  TimePoint arrival{};                // FCFS key within a priority
  std::optional<TimePoint> deadline;  // absolute; passed => finished with kDeadline
  uint64_t cache_salt = 0;            // prefix-cache extra key (LoRA id, model revision, ...)
  // The caller wants log P(prompt[i+1] | prompt[..i]) at every prompt
  // position: its chunks carry ScheduledSeq::logprob_targets, and its
  // admissions never take a cached prefix past the positions it has computed.
  bool prompt_logprobs = false;
};

// One result per logits row of a plan.
struct SampledToken {
  TokenId token = 0;
  bool stop = false;  // the caller saw EOS / a stop sequence: finish with kStop
};

struct RequestInfo {
  RequestState state = RequestState::kWaiting;
  int num_prompt = 0;
  int num_generated = 0;
  int num_computed = 0;
  int num_cached_tokens = 0;
  int max_new_tokens = 0;  // effective
  int preemptions = 0;
  bool reserved = false;
};

struct SchedulerStats {
  int num_waiting = 0;  // never admitted
  int num_running = 0;
  int num_preempted = 0;  // waiting to recompute
  int blocks_total = 0;
  int blocks_used = 0;
  int blocks_free = 0;         // includes cached_free
  int blocks_cached_free = 0;  // free but still holding reusable KV
  int blocks_reserved = 0;
  int window_blocks_total = 0;  // the window pool, when there is one
  int window_blocks_used = 0;
  int64_t prefix_query_tokens = 0;  // tokens looked up at admissions (resumes included)
  int64_t prefix_hit_tokens = 0;
  int64_t preemptions = 0;
  double prefix_hit_rate() const {
    return prefix_query_tokens == 0 ? 0.0 : double(prefix_hit_tokens) / prefix_query_tokens;
  }
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerConfig& config);

  // Queues a request. Returns its effective max_new_tokens: clamped so that
  // prompt + max_new_tokens - 1 KV positions fit both max_model_len and the
  // whole KV pool. Throws SchedulerError (request rejected, nothing queued)
  // on a duplicate id, empty prompt, negative token id, max_new_tokens < 1,
  // or a prompt longer than max_model_len or the KV pool.
  int add(const RequestSpec& spec);
  // Finishes id with kCancelled in the next schedule() (its blocks may be in
  // the step in flight). Throws if id is unknown.
  void cancel(RequestId id);
  // Parallel sampling: child continues parent's sequence, sharing its blocks
  // (copy-on-write), with `child_token` in place of parent's last sampled
  // token. Parent must be running and decoding; no plan may be in flight.
  void fork(RequestId parent, RequestId child, TokenId child_token);

  // Plans one step. Throws if the previous plan was not update()d.
  StepPlan schedule(TimePoint now);
  // Results of `plan`: exactly plan.num_logits_rows entries, row i for the
  // seq whose logits_row == i. Returns requests finished by stop or length.
  // Throws (and changes nothing) on a stale plan or a size/id mismatch.
  std::vector<FinishedRequest> update(const StepPlan& plan, std::span<const SampledToken> sampled);
  std::vector<FinishedRequest> update(const StepPlan& plan, std::span<const TokenId> sampled);

  std::optional<RequestInfo> info(RequestId id) const;  // nullopt once finished
  // Finished requests whose rows the padded static batch still computes
  // (a policy that keeps_finished_rows(): bench/baselines); they hold blocks until the batch drains.
  std::vector<RequestId> padding_ids() const;
  SchedulerStats stats() const;
  bool has_unfinished() const { return !requests_.empty(); }
  const KvCacheManager& kv() const { return kv_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct InFlight {  // what update() applies: a private copy, immune to plan edits
    uint64_t step_id = 0;
    int num_logits_rows = 0;
    struct Entry {
      RequestId id;
      int num_tokens;
      int logits_row;
    };
    std::vector<Entry> entries;
  };

  // A step being planned: chunks whose blocks are already appended. A victim
  // planned earlier in the step is taken out again (unplan) before it loses
  // its blocks, so the plan is only built once the step is settled.
  struct Planned {
    RequestId id;
    int num_tokens;
    std::vector<CopyOnWrite> copies;
  };
  struct Draft {
    std::vector<Planned> planned;
    int budget = 0;
    bool preempted_for_blocks = false;
  };

  // scheduler_step.cpp
  void finish_requested_and_expired(TimePoint now, StepPlan& plan);
  void preempt_for_priority(StepPlan& plan);
  void schedule_running(StepPlan& plan);
  void admit_waiting(StepPlan& plan);
  int fit_or_preempt(Request& r, int num_tokens, StepPlan& plan);
  std::optional<RequestId> pick_victim(const Request& self) const;
  PrefixHit lookup_prefix(const Request& r) const;
  bool can_start(const Request& r) const;
  void preempt(Request& r, StepPlan& plan);
  void plan_chunk(Request& r, int num_tokens);
  void unplan(Request& r);
  void build_plan(StepPlan& plan);

  void plan_padding(StepPlan& plan);

  // scheduler.cpp
  Request& request(RequestId id);
  void remove(Request& r, FinishReason reason, std::vector<FinishedRequest>& out);
  void keep_as_padding(const Request& r);
  void release_padding_if_drained();
  void validate_results(std::span<const SampledToken> sampled) const;

  SchedulerConfig config_;
  std::shared_ptr<const CapacityPolicy> policy_;
  KvCacheManager kv_;
  std::unordered_map<RequestId, Request> requests_;
  std::set<QueueKey> waiting_;      // waiting + preempted, in queue order
  std::vector<RequestId> running_;  // admission order
  // A finished row of a padded static batch: recomputes `token` at `pos`.
  struct PaddingRow {
    RequestId id;
    TokenId token;
    int pos;
  };
  std::vector<PaddingRow> padding_;
  std::vector<CopyOnWrite> padding_copies_;  // privatized blocks, emitted with the next plan
  std::optional<InFlight> in_flight_;
  Draft draft_;  // valid inside schedule() only
  uint64_t step_id_ = 0;
  uint64_t next_arrival_seq_ = 0;
  SchedulerStats counters_;  // only the cumulative fields are kept here
};

}  // namespace loom::sched
