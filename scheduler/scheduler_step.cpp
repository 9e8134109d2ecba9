// Planning one step. Order inside schedule():
//   1. finish cancelled and expired requests (frees their blocks)
//   2. priority preemption: the waiting head may evict lower-priority runners
//   3. running requests: decodes first, then prefill chunks, each group in
//      queue order; a block shortage shrinks a prefill chunk, else preempts
//      the lowest running request (possibly itself, possibly one already
//      planned this step, which is then taken out of the plan)
//   4. admit waiting requests in queue order (FCFS within a priority) while
//      tokens, sequence slots and blocks last; skipped if step 3 preempted
#include <algorithm>

#include "scheduler/scheduler.h"

namespace loom::sched {
namespace {

// Largest n in [0, max] with fits(n), for fits monotone (true then false).
template <typename Fits>
int largest_true(int max, Fits fits) {
  int lo = 0;
  int hi = max;
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace

StepPlan Scheduler::schedule(TimePoint now) {
  if (in_flight_) throw SchedulerError("schedule: the previous plan was not update()d");
  StepPlan plan;
  plan.step_id = ++step_id_;
  draft_ = Draft{{}, config_.max_batched_tokens, false};
  const bool admission_open = policy_->admission_open(static_cast<int>(running_.size()));

  finish_requested_and_expired(now, plan);
  if (policy_->priority_preemption()) preempt_for_priority(plan);
  schedule_running(plan);
  if (admission_open && !draft_.preempted_for_blocks) admit_waiting(plan);
  build_plan(plan);
  return plan;
}

void Scheduler::finish_requested_and_expired(TimePoint now, StepPlan& plan) {
  std::vector<std::pair<RequestId, FinishReason>> due;
  for (const auto& [id, r] : requests_) {
    if (r.finish_requested) {
      due.emplace_back(id, *r.finish_requested);
    } else if (r.deadline && now >= *r.deadline) {
      due.emplace_back(id, FinishReason::kDeadline);
    }
  }
  std::sort(due.begin(), due.end());  // deterministic report order
  for (const auto& [id, reason] : due) remove(request(id), reason, plan.finished);
}

// The cached prefix r may reuse: never its last known token (a logits row
// must exist), and for a prompt_logprobs request only positions it has
// computed itself before (a cached block has KV, not log-probabilities).
PrefixHit Scheduler::lookup_prefix(const Request& r) const {
  int max_tokens = static_cast<int>(r.tokens.size()) - 1;
  if (r.prompt_logprobs) max_tokens = std::min(max_tokens, r.max_computed);
  return kv_.find_prefix(r.tokens, r.cache_salt, max_tokens);
}

// Can r be admitted now with a chunk of at least one token?
bool Scheduler::can_start(const Request& r) const {
  if (static_cast<int>(running_.size()) >= config_.max_num_seqs) return false;
  PrefixHit hit = lookup_prefix(r);
  int reserve_until = policy_->reserve_full_length(r.preemptions) ? r.max_kv_tokens() : 0;
  return kv_.can_allocate(hit, hit.num_tokens + 1, reserve_until);
}

void Scheduler::preempt_for_priority(StepPlan& plan) {
  while (!waiting_.empty()) {
    const Request& head = requests_.at(waiting_.begin()->id);
    if (can_start(head)) return;
    std::optional<RequestId> victim;
    for (RequestId id : running_) {
      const Request& r = requests_.at(id);
      if (r.reserved || r.priority >= head.priority) continue;
      if (!victim || QueueKey::of(requests_.at(*victim)) < QueueKey::of(r)) victim = id;
    }
    if (!victim) return;
    preempt(request(*victim), plan);
  }
}

void Scheduler::schedule_running(StepPlan& plan) {
  std::vector<RequestId> order = running_;
  std::sort(order.begin(), order.end(), [this](RequestId a, RequestId b) {
    const Request& ra = requests_.at(a);
    const Request& rb = requests_.at(b);
    if (ra.in_decode() != rb.in_decode()) return ra.in_decode();
    return QueueKey::of(ra) < QueueKey::of(rb);
  });
  for (RequestId id : order) {
    if (draft_.budget == 0) break;
    Request& r = request(id);
    if (r.state != RequestState::kRunning) continue;  // preempted earlier in this loop
    int n = fit_or_preempt(r, std::min(r.num_to_compute(), draft_.budget), plan);
    if (n > 0) plan_chunk(r, n);
  }
}

// Tokens of r that fit this step (<= num_tokens), preempting victims until at
// least one fits. 0 when r itself was preempted (or, defensively, when r is
// reserved and nothing can be freed: it then waits a step).
int Scheduler::fit_or_preempt(Request& r, int num_tokens, StepPlan& plan) {
  while (true) {
    // The largest chunk that fits: a shorter prefill chunk beats a preemption.
    int fit =
        largest_true(num_tokens, [&](int n) { return kv_.can_append(r.id, r.num_computed, n); });
    if (fit > 0) return fit;
    std::optional<RequestId> victim = pick_victim(r);
    if (!victim) return 0;
    Request& v = request(*victim);
    if (v.scheduled_step == step_id_) unplan(v);
    preempt(v, plan);
    draft_.preempted_for_blocks = true;
    if (*victim == r.id) return 0;
  }
}

// The lowest running request in queue order (r itself included), skipping
// reserved ones: they are never victims.
std::optional<RequestId> Scheduler::pick_victim(const Request& self) const {
  std::optional<RequestId> victim;
  for (RequestId id : running_) {
    const Request& r = requests_.at(id);
    if (r.reserved) continue;
    if (!victim || QueueKey::of(requests_.at(*victim)) < QueueKey::of(r)) victim = id;
  }
  return victim;
}

// Recompute preemption: blocks freed (the keyed ones stay cached), the
// request re-queued with its original queue key to recompute prompt +
// generated tokens as one prefill on resume.
void Scheduler::preempt(Request& r, StepPlan& plan) {
  kv_.free(r.id);
  running_.erase(std::find(running_.begin(), running_.end(), r.id));
  r.state = RequestState::kPreempted;
  r.num_computed = 0;
  r.reserved = false;
  r.preempted_step = step_id_;
  ++r.preemptions;
  ++counters_.preemptions;
  waiting_.insert(QueueKey::of(r));
  plan.preempted.push_back(r.id);
}

void Scheduler::admit_waiting(StepPlan& plan) {
  const bool beyond_budget = policy_->admit_beyond_step_budget();
  while (!waiting_.empty() && (draft_.budget > 0 || beyond_budget) &&
         static_cast<int>(running_.size()) < config_.max_num_seqs) {
    Request& r = request(waiting_.begin()->id);
    if (r.preempted_step == step_id_) return;  // not back in the step that evicted it
    // Recompute at least the last known token so a logits row exists.
    PrefixHit hit = lookup_prefix(r);
    int reserve_until = policy_->reserve_full_length(r.preemptions) ? r.max_kv_tokens() : 0;
    int want = std::min(static_cast<int>(r.tokens.size()) - hit.num_tokens, draft_.budget);
    int n = largest_true(
        want, [&](int k) { return kv_.can_allocate(hit, hit.num_tokens + k, reserve_until); });
    const bool admit_without_chunk =
        n == 0 && beyond_budget && kv_.can_allocate(hit, hit.num_tokens, reserve_until);
    if (n == 0 && !admit_without_chunk) return;  // head-of-line: FCFS, nobody jumps the queue
    kv_.allocate(r.id, hit, hit.num_tokens + n, r.cache_salt, reserve_until);
    waiting_.erase(waiting_.begin());
    running_.push_back(r.id);
    r.state = RequestState::kRunning;
    r.num_computed = hit.num_tokens;
    r.num_cached_tokens = hit.num_tokens;
    r.reserved = reserve_until > 0;
    counters_.prefix_query_tokens += static_cast<int64_t>(r.tokens.size());
    counters_.prefix_hit_tokens += hit.num_tokens;
    ++plan.counters.num_admitted;
    if (n > 0) plan_chunk(r, n);
  }
}

void Scheduler::plan_chunk(Request& r, int num_tokens) {
  draft_.planned.push_back({r.id, num_tokens, kv_.append_slots(r.id, r.num_computed, num_tokens)});
  draft_.budget -= num_tokens;
  r.scheduled_step = step_id_;
}

void Scheduler::unplan(Request& r) {
  auto it = std::find_if(draft_.planned.begin(), draft_.planned.end(),
                         [&](const Planned& p) { return p.id == r.id; });
  draft_.budget += it->num_tokens;
  draft_.planned.erase(it);
  r.scheduled_step = 0;
}

void Scheduler::build_plan(StepPlan& plan) {
  in_flight_ = InFlight{plan.step_id, 0, {}};
  for (const Planned& p : draft_.planned) {
    const Request& r = requests_.at(p.id);
    plan.copies.insert(plan.copies.end(), p.copies.begin(), p.copies.end());
    ScheduledSeq s;
    s.id = r.id;
    s.start_pos = r.num_computed;
    s.tokens.assign(r.tokens.begin() + s.start_pos, r.tokens.begin() + s.start_pos + p.num_tokens);
    auto table = kv_.block_table(r.id);
    s.block_table.assign(table.begin(), table.end());
    auto window_table = kv_.window_block_table(r.id);
    s.window_block_table.assign(window_table.begin(), window_table.end());
    s.sample = s.end_pos() == static_cast<int>(r.tokens.size());
    s.logits_row = s.sample ? plan.num_logits_rows++ : -1;
    s.num_cached_tokens = r.num_cached_tokens;
    if (r.prompt_logprobs) {
      const int n = std::min(s.end_pos(), r.num_prompt - 1) - s.start_pos;
      if (n > 0) s.logprob_targets.assign(r.tokens.begin() + s.start_pos + 1, r.tokens.begin() + s.start_pos + 1 + n);
    }
    (r.in_decode() ? plan.counters.num_decode_seqs : plan.counters.num_prefill_seqs)++;
    plan.counters.num_tokens += p.num_tokens;
    in_flight_->entries.push_back({r.id, p.num_tokens, s.logits_row});
    plan.seqs.push_back(std::move(s));
  }
  plan_padding(plan);
  in_flight_->num_logits_rows = plan.num_logits_rows;
  plan.counters.num_preempted = static_cast<int>(plan.preempted.size());
  plan.counters.num_free_blocks = kv_.pool().num_free();
  draft_ = Draft{};
}

// Padding rows go last and only into budget the live rows left; update()
// ignores them (they are in no InFlight entry).
void Scheduler::plan_padding(StepPlan& plan) {
  plan.copies.insert(plan.copies.end(), padding_copies_.begin(), padding_copies_.end());
  padding_copies_.clear();
  for (const PaddingRow& p : padding_) {
    if (plan.counters.num_tokens >= config_.max_batched_tokens) break;
    ScheduledSeq s;
    s.id = p.id;
    s.tokens = {p.token};
    s.start_pos = p.pos;
    auto table = kv_.block_table(p.id);
    s.block_table.assign(table.begin(), table.end());
    auto window_table = kv_.window_block_table(p.id);
    s.window_block_table.assign(window_table.begin(), window_table.end());
    s.padding = true;
    ++plan.counters.num_padding_seqs;
    ++plan.counters.num_tokens;
    plan.seqs.push_back(std::move(s));
  }
}

}  // namespace loom::sched
