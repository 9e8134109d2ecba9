// The scheduler's private record of one request, and the queue order.
#pragma once
#include <optional>
#include <vector>

#include "scheduler/types.h"

namespace loom::sched {

struct Request {
  RequestId id = 0;
  std::vector<TokenId> tokens;  // prompt, then generated tokens
  int num_prompt = 0;
  int max_new_tokens = 0;  // effective (clamped to the model / KV limit)
  int priority = 0;        // higher runs first
  TimePoint arrival{};
  uint64_t arrival_seq = 0;  // add() order: FCFS tie-break
  std::optional<TimePoint> deadline;
  uint64_t cache_salt = 0;
  bool prompt_logprobs = false;  // RequestSpec::prompt_logprobs
  int max_computed = 0;          // the most tokens it ever had computed (preemption resets num_computed)

  RequestState state = RequestState::kWaiting;
  int num_computed = 0;       // leading tokens whose KV is in its blocks
  int num_cached_tokens = 0;  // prefix hit at the latest admission
  int preemptions = 0;
  bool reserved = false;  // admitted with its whole length reserved: never a victim
  std::optional<FinishReason> finish_requested;  // cancel(): applied by the next schedule()
  uint64_t scheduled_step = 0;                   // last step it was planned in
  uint64_t preempted_step = 0;                   // last step it lost its blocks

  int num_generated() const { return static_cast<int>(tokens.size()) - num_prompt; }
  int num_to_compute() const { return static_cast<int>(tokens.size()) - num_computed; }
  bool in_decode() const { return num_to_compute() == 1 && num_generated() > 0; }
  // Most KV positions it can ever need: the last sampled token is never computed.
  int max_kv_tokens() const { return num_prompt + max_new_tokens - 1; }
};

// Queue order: higher priority first, then earlier arrival, then add order.
// The lowest (last) running request in this order is the preemption victim.
struct QueueKey {
  int priority = 0;
  TimePoint arrival{};
  uint64_t arrival_seq = 0;
  RequestId id = 0;

  static QueueKey of(const Request& r) { return {r.priority, r.arrival, r.arrival_seq, r.id}; }
  bool operator<(const QueueKey& o) const {
    if (priority != o.priority) return priority > o.priority;
    if (arrival != o.arrival) return arrival < o.arrival;
    return arrival_seq < o.arrival_seq;
  }
};

}  // namespace loom::sched
