// The scheduler's API: requests in, results in, queries. Planning a step is
// in scheduler_step.cpp.
#include "scheduler/scheduler.h"

#include <algorithm>
#include <string>

namespace loom::sched {
namespace {

std::string id_str(RequestId id) {
  return std::to_string(id);
}

void require(bool ok, const std::string& what) {
  if (!ok) throw SchedulerError(what);
}

}  // namespace

void SchedulerConfig::validate() const {
  require(num_blocks > 0, "SchedulerConfig: num_blocks must be > 0");
  require(block_size > 0, "SchedulerConfig: block_size must be > 0");
  require(max_num_seqs > 0, "SchedulerConfig: max_num_seqs must be > 0");
  require(max_batched_tokens >= max_num_seqs,
          "SchedulerConfig: max_batched_tokens must be >= max_num_seqs so every decode fits");
  require(max_model_len > 0, "SchedulerConfig: max_model_len must be > 0");
  require(max_preemptions >= 0, "SchedulerConfig: max_preemptions must be >= 0");
  require(window_blocks >= 0, "SchedulerConfig: window_blocks must be >= 0");
  if (window_blocks == 0) return;
  require(window_keep_tokens > 0, "SchedulerConfig: window_keep_tokens must be > 0 with a window pool");
  require(window_blocks >= min_window_blocks(),
          "SchedulerConfig: window_blocks " + std::to_string(window_blocks) + " < " +
              std::to_string(min_window_blocks()) + " (max_num_seqs sequences with a window each, plus one step)");
}

// A running sequence holds the window blocks of positions
// [first_window_block(p - 1) * bs, p + n) while it computes n tokens at p:
// at most (keep + n) / bs + 2 blocks. Summed over max_num_seqs sequences
// with sum(n) <= max_batched_tokens (floor(a + b) <= floor(a) + floor(b) + 1
// per sequence):
int SchedulerConfig::min_window_blocks() const {
  return max_num_seqs * (window_keep_tokens / block_size + 3) + max_batched_tokens / block_size;
}

Scheduler::Scheduler(const SchedulerConfig& config)
    : config_((config.validate(), config)),
      policy_(config.policy ? config.policy : make_continuous_policy(config.max_preemptions)),
      kv_(config.num_blocks, config.block_size, {config.window_blocks, config.window_keep_tokens}) {}

int Scheduler::add(const RequestSpec& spec) {
  const std::string who = "request " + id_str(spec.id) + ": ";
  require(!requests_.contains(spec.id) && !kv_.contains(spec.id), who + "id already in use");
  require(!spec.prompt.empty(), who + "empty prompt");
  require(spec.max_new_tokens >= 1, who + "max_new_tokens must be >= 1");
  for (TokenId t : spec.prompt) require(t >= 0, who + "negative token id " + std::to_string(t));
  const int prompt = static_cast<int>(spec.prompt.size());
  const int64_t pool_tokens = int64_t{config_.num_blocks} * config_.block_size;
  require(prompt <= config_.max_model_len, who + "prompt of " + std::to_string(prompt) +
                                               " tokens exceeds max_model_len " +
                                               std::to_string(config_.max_model_len));
  require(prompt <= pool_tokens, who + "prompt of " + std::to_string(prompt) +
                                     " tokens exceeds the KV pool of " +
                                     std::to_string(pool_tokens) + " tokens");
  // prompt + max_new - 1 KV positions at most (the last token is never computed).
  const int64_t limit = std::min<int64_t>(config_.max_model_len, pool_tokens);
  const int max_new = static_cast<int>(std::min<int64_t>(spec.max_new_tokens, limit - prompt + 1));

  Request r;
  r.id = spec.id;
  r.tokens = spec.prompt;
  r.num_prompt = prompt;
  r.max_new_tokens = max_new;
  r.priority = spec.priority;
  r.arrival = spec.arrival;
  r.arrival_seq = next_arrival_seq_++;
  r.deadline = spec.deadline;
  r.cache_salt = spec.cache_salt;
  r.prompt_logprobs = spec.prompt_logprobs;
  waiting_.insert(QueueKey::of(r));
  requests_.emplace(r.id, std::move(r));
  return max_new;
}

void Scheduler::cancel(RequestId id) {
  request(id).finish_requested = FinishReason::kCancelled;
}

void Scheduler::fork(RequestId parent_id, RequestId child_id, TokenId child_token) {
  const std::string who = "fork " + id_str(parent_id) + " -> " + id_str(child_id) + ": ";
  require(!in_flight_, who + "a plan is in flight; fork after update()");
  require(!requests_.contains(child_id) && !kv_.contains(child_id),
          who + "child id already in use");
  require(child_token >= 0, who + "negative token id");
  require(static_cast<int>(running_.size()) < config_.max_num_seqs, who + "max_num_seqs reached");
  Request& parent = request(parent_id);
  require(parent.state == RequestState::kRunning && parent.in_decode(),
          who + "parent must be running and decoding");
  // The child continues the parent's history (its preemption count too), so
  // it is reserved exactly when the policy would reserve the parent now. A
  // reserved holder of the shared partial last block needs one block more for
  // its copy-on-write.
  const bool child_reserved = policy_->reserve_full_length(parent.preemptions);
  const int table_blocks = static_cast<int>(kv_.block_table(parent_id).size());
  const int child_blocks =
      child_reserved ? kv_.blocks_for_tokens(parent.max_kv_tokens()) - table_blocks + 1 : 0;
  const int parent_blocks = parent.reserved ? 1 : 0;
  require(kv_.num_available() >= child_blocks + parent_blocks,
          who + "no free blocks for the reservations of a reserved fork");
  kv_.fork(parent_id, child_id);
  kv_.reserve_more(child_id, std::max(0, child_blocks));
  kv_.reserve_more(parent_id, parent_blocks);
  Request child = parent;
  child.id = child_id;
  child.tokens.back() = child_token;
  child.arrival_seq = next_arrival_seq_++;
  child.reserved = child_reserved;
  child.finish_requested.reset();
  child.prompt_logprobs = false;  // the parent's prompt positions are the parent's
  running_.push_back(child_id);
  requests_.emplace(child_id, std::move(child));
}

void Scheduler::validate_results(std::span<const SampledToken> sampled) const {
  require(static_cast<int>(sampled.size()) == in_flight_->num_logits_rows,
          "update: " + std::to_string(sampled.size()) + " results for a plan with " +
              std::to_string(in_flight_->num_logits_rows) + " logits rows");
  for (const SampledToken& s : sampled) {
    require(s.token >= 0, "update: negative token id " + std::to_string(s.token));
  }
}

std::vector<FinishedRequest> Scheduler::update(const StepPlan& plan,
                                               std::span<const SampledToken> sampled) {
  require(in_flight_.has_value(), "update: no plan in flight");
  require(plan.step_id == in_flight_->step_id, "update: plan " + std::to_string(plan.step_id) +
                                                   " is not the one in flight (" +
                                                   std::to_string(in_flight_->step_id) + ")");
  validate_results(sampled);
  InFlight done = std::move(*in_flight_);
  in_flight_.reset();

  std::vector<FinishedRequest> finished;
  for (const InFlight::Entry& e : done.entries) {
    Request& r = request(e.id);
    r.num_computed += e.num_tokens;
    r.max_computed = std::max(r.max_computed, r.num_computed);
    kv_.commit(r.id, r.tokens, r.num_computed);
    if (e.logits_row < 0) continue;
    const SampledToken& s = sampled[e.logits_row];
    r.tokens.push_back(s.token);
    if (s.stop) {
      remove(r, FinishReason::kStop, finished);
    } else if (r.num_generated() >= r.max_new_tokens) {
      remove(r, FinishReason::kLength, finished);
    }
  }
  return finished;
}

std::vector<FinishedRequest> Scheduler::update(const StepPlan& plan,
                                               std::span<const TokenId> sampled) {
  std::vector<SampledToken> results(sampled.size());
  for (size_t i = 0; i < sampled.size(); ++i) results[i].token = sampled[i];
  return update(plan, results);
}

Request& Scheduler::request(RequestId id) {
  auto it = requests_.find(id);
  require(it != requests_.end(), "unknown request " + id_str(id));
  return it->second;
}

// Drops r from its queue and (unless it stays as a padding row) the KV
// cache; r is invalid afterwards. The last running request to go takes its
// batch's padding rows with it.
void Scheduler::remove(Request& r, FinishReason reason, std::vector<FinishedRequest>& out) {
  if (r.state == RequestState::kRunning) {
    const bool completed = reason == FinishReason::kStop || reason == FinishReason::kLength;
    if (completed && policy_->keeps_finished_rows()) {
      keep_as_padding(r);
    } else {
      kv_.free(r.id);
    }
    running_.erase(std::find(running_.begin(), running_.end(), r.id));
    release_padding_if_drained();
  } else {
    waiting_.erase(QueueKey::of(r));
  }
  const RequestId id = r.id;
  out.push_back({id, reason, r.num_generated()});
  requests_.erase(id);
}

// r's row stays in the batch: it recomputes its last computed position into
// a block it alone holds (so the rewrite cannot touch shared or cached KV).
// Without a free block for that copy the row simply stops (rare: the static
// batch reserved its blocks).
void Scheduler::keep_as_padding(const Request& r) {
  const int pos = r.num_computed - 1;
  kv_.release_reserved(r.id);
  if (pos < 0 || kv_.blocks_to_privatize(r.id, pos) > kv_.num_available()) {
    kv_.free(r.id);
    return;
  }
  for (const CopyOnWrite& copy : kv_.privatize(r.id, pos)) padding_copies_.push_back(copy);
  padding_.push_back({r.id, r.tokens[pos], pos});
}

// The batch has drained: its padding rows free their blocks.
void Scheduler::release_padding_if_drained() {
  if (!running_.empty()) return;
  for (const PaddingRow& p : padding_) kv_.free(p.id);
  padding_.clear();
  padding_copies_.clear();  // their destinations were just freed
}

std::vector<RequestId> Scheduler::padding_ids() const {
  std::vector<RequestId> ids;
  for (const PaddingRow& p : padding_) ids.push_back(p.id);
  return ids;
}

std::optional<RequestInfo> Scheduler::info(RequestId id) const {
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  const Request& r = it->second;
  return RequestInfo{r.state,        r.num_prompt,        r.num_generated(),
                     r.num_computed, r.num_cached_tokens, r.max_new_tokens,
                     r.preemptions,  r.reserved};
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s = counters_;
  s.num_running = static_cast<int>(running_.size());
  for (const QueueKey& k : waiting_) {
    bool preempted = requests_.at(k.id).state == RequestState::kPreempted;
    (preempted ? s.num_preempted : s.num_waiting)++;
  }
  const BlockPool& pool = kv_.pool();
  s.blocks_total = pool.num_blocks();
  s.blocks_used = pool.num_used();
  s.blocks_free = pool.num_free();
  s.blocks_cached_free = pool.num_cached_free();
  s.blocks_reserved = kv_.num_reserved();
  if (const BlockPool* w = kv_.window_pool()) {
    s.window_blocks_total = w->num_blocks();
    s.window_blocks_used = w->num_used();
  }
  return s;
}

}  // namespace loom::sched
