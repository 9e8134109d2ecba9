// The static-batching baselines the serving benchmark judges continuous
// batching against, supplied to the scheduler through its policy seam
// (scheduler/policy.h, SchedulerConfig::policy). Not used in production.
#pragma once
#include <memory>

#include "scheduler/policy.h"

namespace loom::baselines {

enum class PolicyKind {
  kContinuous,    // the scheduler's own policy
  kStaticBatch,   // admit a whole batch only when nothing runs; no preemption
  kStaticPadded,  // the fixed-shape static batch: as kStaticBatch, and a finished row keeps
                  // its place in the compute (padding) until the whole batch has finished
};

std::shared_ptr<const sched::CapacityPolicy> make_policy(PolicyKind kind, int max_preemptions);

}  // namespace loom::baselines
