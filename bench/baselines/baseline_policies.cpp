#include "bench/baselines/baseline_policies.h"

namespace loom::baselines {
namespace {

// Every request reserves its whole length, so nothing is ever preempted; the
// batch (up to max_num_seqs waiting requests, whatever the token budget) is
// admitted in the first step after the previous one drained, and its
// prefill runs chunked over the next steps.
class StaticBatchPolicy : public sched::CapacityPolicy {
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

std::shared_ptr<const sched::CapacityPolicy> make_policy(PolicyKind kind, int max_preemptions) {
  if (kind == PolicyKind::kStaticBatch) return std::make_shared<StaticBatchPolicy>();
  if (kind == PolicyKind::kStaticPadded) return std::make_shared<StaticPaddedPolicy>();
  return sched::make_continuous_policy(max_preemptions);
}

}  // namespace loom::baselines
