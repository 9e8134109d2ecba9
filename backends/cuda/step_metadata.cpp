#include "backends/cuda/step_metadata.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "backends/common/model/model_config.h"

namespace loom::cuda_backend {
namespace {

size_t align16(size_t n) { return (n + 15) & ~size_t{15}; }

cuda::DeviceSamplingParams device_params(const sampling::Sampler* s) {
  cuda::DeviceSamplingParams d;
  if (!s) {  // graph padding row: greedy, never read back
    d.temperature = 0.0f;
    return d;
  }
  const sampling::SamplingParams& p = s->params();
  d.temperature = p.temperature;
  d.top_k = p.top_k;
  d.top_p = p.top_p;
  d.min_p = p.min_p;
  d.log_min_p = p.min_p > 0.0f ? std::log(p.min_p) : 0.0f;  // float log, as the CPU's keep_min_p
  d.repetition_penalty = p.repetition_penalty;
  d.presence_penalty = p.presence_penalty;
  d.frequency_penalty = p.frequency_penalty;
  d.seed = s->seed();
  d.draw_index = s->draws();
  return d;
}

bool penalties_active(const sampling::SamplingParams& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

}  // namespace

StepMetadata::StepMetadata(const StepCapacity& cap, int32_t num_blocks, int32_t block_size,
                           int32_t context, int32_t n_vocab)
    : cap_(cap), num_blocks_(num_blocks), block_size_(block_size), context_(context), n_vocab_(n_vocab) {
  const size_t T = cap.max_tokens, S = cap.max_seqs, i32 = sizeof(int32_t);
  size_t at = 0;
  auto take = [&](size_t bytes) { const size_t o = at; at += align16(bytes); return o; };
  off_.token_ids = take(T * i32);
  off_.positions = take(T * i32);
  off_.seq_of_token = take(T * i32);
  off_.kv_len = take(S * i32);
  off_.q_indptr = take((S + 1) * i32);
  off_.indptr = take((S + 1) * i32);
  off_.sample_rows = take(S * i32);
  off_.params = take(S * sizeof(cuda::DeviceSamplingParams));
  off_.history_offsets = take((S + 1) * i32);
  off_.block_tables = take(S * static_cast<size_t>(cap.max_blocks_per_seq) * i32);
  off_.window_block_tables = take(S * static_cast<size_t>(cap.max_blocks_per_seq) * i32);
  off_.history = take(static_cast<size_t>(std::max(cap.max_history, 1)) * i32);
  off_.end = at;
  host_ = PinnedBuffer(at);
  dev_ = DeviceBuffer(at, "cudaMalloc(step metadata)");
  int32_t* indptr = hptr<int32_t>(off_.indptr);
  for (size_t s = 0; s <= S; ++s) indptr[s] = static_cast<int32_t>(s) * cap.max_blocks_per_seq;
}

void StepMetadata::check_seq(const sched::ScheduledSeq& seq) const {
  const int64_t end = seq.end_pos();
  if (seq.num_tokens() < 1 || seq.start_pos < 0 || end > context_)
    throw ModelError("positions [" + std::to_string(seq.start_pos) + ", " + std::to_string(end) +
                     ") exceed the context of " + std::to_string(context_));
  const int64_t needed = (end + block_size_ - 1) / block_size_;
  if (static_cast<int64_t>(seq.block_table.size()) < needed ||
      static_cast<int64_t>(seq.block_table.size()) > cap_.max_blocks_per_seq)
    throw ModelError("block table of " + std::to_string(seq.block_table.size()) +
                     " blocks does not fit position " + std::to_string(end - 1));
  for (int32_t b : seq.block_table)
    if (b < 0 || b >= num_blocks_)
      throw ModelError("block id " + std::to_string(b) + " outside the pool of " + std::to_string(num_blocks_));
  for (int32_t id : seq.tokens)
    if (id < 0 || id >= n_vocab_)
      throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary of " +
                       std::to_string(n_vocab_));
  if (num_window_blocks_ > 0) check_window_table(seq);
}

// The window table covers what the block table does; the blocks this step
// reads (its first query's window on) or writes are present, the rest are
// present or dropped (-1).
void StepMetadata::check_window_table(const sched::ScheduledSeq& seq) const {
  const std::vector<sched::BlockId>& table = seq.window_block_table;
  if (table.size() != seq.block_table.size())
    throw ModelError("window block table of " + std::to_string(table.size()) + " blocks for a block table of " +
                     std::to_string(seq.block_table.size()) +
                     " (the scheduler must run with this backend's window pool)");
  const int64_t first_read = std::max<int64_t>(0, seq.start_pos - window_keep_tokens_ + 1) / block_size_;
  for (size_t i = 0; i < table.size(); ++i) {
    const int32_t b = table[i];
    const bool needed = static_cast<int64_t>(i) >= first_read;
    if ((b == -1 && !needed) || (b >= 0 && b < num_window_blocks_)) continue;
    throw ModelError("window block id " + std::to_string(b) + " at table entry " + std::to_string(i) +
                     (b == -1 ? " was dropped, but position " + std::to_string(seq.start_pos) + " reads it"
                              : " outside the window pool of " + std::to_string(num_window_blocks_)));
  }
}

// Slot s's kv length and padded block-table row; seq == nullptr: a padding
// slot (one token at position 0 of the padding block).
void StepMetadata::add_slot(int32_t slot, const sched::ScheduledSeq* seq) {
  int32_t* row = hptr<int32_t>(off_.block_tables) + static_cast<size_t>(slot) * cap_.max_blocks_per_seq;
  const size_t n = seq ? seq->block_table.size() : 0;
  if (seq) std::copy(seq->block_table.begin(), seq->block_table.end(), row);
  std::fill(row + n, row + cap_.max_blocks_per_seq, num_blocks_);
  if (num_window_blocks_ > 0) {
    int32_t* window_row = hptr<int32_t>(off_.window_block_tables) + static_cast<size_t>(slot) * cap_.max_blocks_per_seq;
    if (seq) std::copy(seq->window_block_table.begin(), seq->window_block_table.end(), window_row);
    std::fill(window_row + n, window_row + cap_.max_blocks_per_seq, num_window_blocks_);
  }
  hptr<int32_t>(off_.kv_len)[slot] = seq ? seq->end_pos() : 1;
}

void StepMetadata::add_sample_row(int32_t r, int32_t token_row, const RowSampling* rs, StepShape& shape) {
  const sampling::Sampler* s = rs ? rs->sampler : nullptr;
  hptr<int32_t>(off_.sample_rows)[r] = token_row;
  hptr<cuda::DeviceSamplingParams>(off_.params)[r] = device_params(s);
  int32_t* offsets = hptr<int32_t>(off_.history_offsets);
  offsets[r] = history_used_;
  if (s && penalties_active(s->params()) && !s->history().empty()) {
    const auto& h = s->history();
    if (history_used_ + static_cast<int64_t>(h.size()) > cap_.max_history)
      throw ModelError("penalty histories of this step exceed max_penalty_history " +
                       std::to_string(cap_.max_history) + " tokens");
    std::copy(h.begin(), h.end(), hptr<int32_t>(off_.history) + history_used_);
    history_used_ += static_cast<int32_t>(h.size());
    shape.has_history = true;
  }
  offsets[r + 1] = history_used_;
}

StepShape StepMetadata::build(const sched::StepPlan& plan, std::span<const RowSampling> rows,
                              int32_t pad_decode_to) {
  std::vector<const sched::ScheduledSeq*> order;
  for (const auto& s : plan.seqs)
    if (s.num_tokens() == 1) order.push_back(&s);
  const auto n_decode = static_cast<int32_t>(order.size());
  for (const auto& s : plan.seqs)
    if (s.num_tokens() != 1) order.push_back(&s);
  if (pad_decode_to > 0 && static_cast<int32_t>(order.size()) != n_decode)
    throw ModelError("graph padding needs a decode-only step");
  const int32_t n_slots = std::max<int32_t>(static_cast<int32_t>(order.size()), pad_decode_to);
  if (n_slots > cap_.max_seqs)
    throw ModelError("step of " + std::to_string(n_slots) + " sequences exceeds max_num_seqs " +
                     std::to_string(cap_.max_seqs));
  StepShape sh;
  int32_t t = 0;
  history_used_ = 0;
  hptr<int32_t>(off_.q_indptr)[0] = 0;
  for (int32_t s = 0; s < static_cast<int32_t>(order.size()); ++s) {
    const sched::ScheduledSeq& seq = *order[s];
    check_seq(seq);
    if (t + seq.num_tokens() > cap_.max_tokens)
      throw ModelError("step exceeds max_batch_tokens " + std::to_string(cap_.max_tokens));
    for (int32_t i = 0; i < seq.num_tokens(); ++i, ++t) {
      hptr<int32_t>(off_.token_ids)[t] = seq.tokens[i];
      hptr<int32_t>(off_.positions)[t] = seq.start_pos + i;
      hptr<int32_t>(off_.seq_of_token)[t] = s;
    }
    add_slot(s, &seq);
    if (s >= n_decode) {
      const int32_t j = s - n_decode;
      int32_t* q = hptr<int32_t>(off_.q_indptr);
      q[j + 1] = q[j] + seq.num_tokens();
      sh.prefill_max_q = std::max(sh.prefill_max_q, seq.num_tokens());
    }
    if (seq.sample) {
      if (seq.logits_row < 0 || seq.logits_row >= static_cast<int>(rows.size()))
        throw ModelError("logits row " + std::to_string(seq.logits_row) + " has no RowSampling");
      add_sample_row(sh.n_rows++, t - 1, &rows[seq.logits_row], sh);
      sh.plan_row.push_back(seq.logits_row);
    }
  }
  for (int32_t s = static_cast<int32_t>(order.size()); s < n_slots; ++s, ++t) {  // graph padding
    hptr<int32_t>(off_.token_ids)[t] = 0;
    hptr<int32_t>(off_.positions)[t] = 0;
    hptr<int32_t>(off_.seq_of_token)[t] = s;
    add_slot(s, nullptr);
    add_sample_row(sh.n_rows++, t, nullptr, sh);
  }
  sh.n_tokens = t;
  sh.n_decode = n_slots - (static_cast<int32_t>(order.size()) - n_decode);
  sh.n_prefill_seqs = static_cast<int32_t>(order.size()) - n_decode;
  return sh;
}

void StepMetadata::upload(const StepShape& shape, cudaStream_t stream) {
  check_cuda(cudaMemcpyAsync(dev_.as(), host_.as(), off_.history, cudaMemcpyHostToDevice, stream),
             "upload step metadata");
  if (shape.has_history)
    check_cuda(cudaMemcpyAsync(dev_.as<char>() + off_.history, host_.as<char>() + off_.history,
                               static_cast<size_t>(history_used_) * sizeof(int32_t),
                               cudaMemcpyHostToDevice, stream),
               "upload penalty histories");
}

}  // namespace loom::cuda_backend
