// The capacity-policy seam: a small class chosen once at construction (like
// TensorRT-LLM's capacity schedulers). It answers the questions below; the
// scheduler does the mechanics. The scheduler ships one policy, continuous
// batching; the static baselines the serving benchmark compares against are
// policies bench/baselines supplies through SchedulerConfig::policy.
#pragma once
#include <memory>

namespace loom::sched {

class CapacityPolicy {
 public:
  virtual ~CapacityPolicy() = default;
  // May waiting requests be admitted in a step that starts with this many running?
  virtual bool admission_open(int num_running_at_step_start) const = 0;
  // Must a request preempted this many times be admitted with blocks reserved
  // for its whole length (and so never be a victim again)?
  virtual bool reserve_full_length(int preemptions) const = 0;
  // May a waiting request preempt running ones of strictly lower priority?
  virtual bool priority_preemption() const = 0;
  // May admission go on once this step's token budget is spent? Such
  // requests are admitted (blocks reserved) with no tokens this step and
  // start their prefill in the following steps.
  virtual bool admit_beyond_step_budget() const = 0;
  // Does a finished request stay in the batch as a padding row (reported
  // finished, recomputing its last position each step) until the batch drains?
  virtual bool keeps_finished_rows() const { return false; }
};

// Continuous batching: admit every step, preempt on block shortage and for
// priority; after max_preemptions (K, the livelock bound) a request is
// re-admitted with its whole length reserved.
std::shared_ptr<const CapacityPolicy> make_continuous_policy(int max_preemptions);

}  // namespace loom::sched
