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

}  // namespace

std::shared_ptr<const CapacityPolicy> make_continuous_policy(int max_preemptions) {
  return std::make_shared<ContinuousPolicy>(max_preemptions);
}

}  // namespace loom::sched
