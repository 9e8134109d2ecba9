// One engine step, as the scheduler hands it to an executor: plain data, no
// device pointers. The executor computes KV for every ScheduledSeq's tokens
// (after applying `copies`), and returns one sampled token per logits row.
#pragma once
#include <cstdint>
#include <vector>

#include "scheduler/kv_cache_manager.h"
#include "scheduler/types.h"

namespace loom::sched {

struct ScheduledSeq {
  RequestId id = 0;
  std::vector<TokenId> tokens;       // [num_tokens] ids to compute this step
  int start_pos = 0;                 // position of tokens[0]; == tokens computed before this step
  std::vector<BlockId> block_table;  // [ceil((start_pos + num_tokens) / block_size)]
  // With a window pool (SchedulerConfig::window_blocks): the sliding-window
  // layers' table, same length, -1 for blocks before the window; else empty.
  std::vector<BlockId> window_block_table;
  bool sample = false;               // chunk reaches the end of the known tokens
  int logits_row = -1;               // index into update()'s results; -1 when !sample
  int num_cached_tokens = 0;         // prefix-cache hit at this request's latest admission
  // A finished request's row kept in a fixed-shape static batch
  // (a policy that keeps_finished_rows(), e.g. the padded static baseline in bench/baselines): it recomputes its last position into a
  // block it alone holds and samples nothing. Its id is no longer a request.
  bool padding = false;
  // A prompt_logprobs request's chunk that holds prompt positions whose next
  // token is a prompt token: target[i] is the token after position
  // start_pos + i, and the executor returns log P(target[i] | tokens up to
  // start_pos + i) for each. Empty otherwise. Size <= num_tokens.
  std::vector<TokenId> logprob_targets;

  int num_tokens() const { return static_cast<int>(tokens.size()); }
  int num_computed_before() const { return start_pos; }
  int end_pos() const { return start_pos + num_tokens(); }
};

struct FinishedRequest {
  RequestId id = 0;
  FinishReason reason = FinishReason::kStop;
  int num_generated = 0;
};

struct StepCounters {
  int num_tokens = 0;        // sum of num_tokens over seqs (<= max_batched_tokens)
  int num_decode_seqs = 0;   // seqs computing exactly their last known token
  int num_prefill_seqs = 0;  // prompt or recompute chunks
  int num_padding_seqs = 0;  // finished rows kept by the padded static baseline
  int num_admitted = 0;      // waiting/preempted requests that got blocks this step
  int num_preempted = 0;     // == preempted.size()
  int num_free_blocks = 0;   // after planning (cached-but-free blocks count as free)
};

struct StepPlan {
  uint64_t step_id = 0;                   // pass the plan back to update() unchanged
  std::vector<ScheduledSeq> seqs;         // running decodes first, then prefill chunks
  std::vector<CopyOnWrite> copies;        // apply before this step's KV writes (window: that pool's)
  std::vector<FinishedRequest> finished;  // cancelled / deadline, found by this schedule()
  std::vector<RequestId> preempted;       // lost their blocks this step (recompute later)
  int num_logits_rows = 0;                // == number of seqs with sample
  StepCounters counters;

  bool empty() const { return seqs.empty(); }
};

}  // namespace loom::sched
