#include "scheduler/policy.h"

namespace loom::sched {
namespace {

// After K preemptions a request is re-admitted only with its whole length
// reserved, and reserved requests are never victims: at most K preemptions
// per request, so no livelock.
class ContinuousPolicy final : public CapacityPolicy {
 public:
  explicit ContinuousPolicy(int max_preemptions) : max_preemptions_(max_preemptions) {}
  bool admission_open(int) const override { return true; }
  bool reserve_full_length(int preemptions) const override {
    return preemptions >= max_preemptions_;
  }
  bool priority_preemption() const override { return true; }
  // Later arrivals join the next steps anyway; admitting without compute
  // would only hold blocks early.
  bool admit_beyond_step_budget() const override { return false; }

 private:
  int max_preemptions_;
};

// Every request reserves its whole length, so nothing is ever preempted; the
// batch (up to max_num_seqs waiting requests, whatever the token budget) is
// admitted in the first step after the previous one drained, and its
// prefill runs chunked over the next steps.
class StaticBatchPolicy : public CapacityPolicy {
 public:
  bool admission_open(int num_running) const override { return num_running == 0; }
  bool reserve_full_length(int) const override { return true; }
  bool priority_preemption() const override { return false; }
  bool admit_beyond_step_budget() const override { return true; }
};

// What a fixed-shape engine (FasterTransformer-era static batching, Orca's
// baseline) spends: the batch's rows stay in every step until its longest
// request finishes; a finished row's work is thrown away.
class StaticPaddedPolicy final : public StaticBatchPolicy {
 public:
  bool keeps_finished_rows() const override { return true; }
};

}  // namespace

std::unique_ptr<CapacityPolicy> make_policy(PolicyKind kind, int max_preemptions) {
  if (kind == PolicyKind::kStaticBatch) return std::make_unique<StaticBatchPolicy>();
  if (kind == PolicyKind::kStaticPadded) return std::make_unique<StaticPaddedPolicy>();
  return std::make_unique<ContinuousPolicy>(max_preemptions);
}

}  // namespace loom::sched
