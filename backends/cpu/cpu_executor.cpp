#include "backends/cpu/cpu_executor.h"

#include <algorithm>
#include <cmath>

namespace loom {

CpuExecutor::CpuExecutor(CpuModel& model) : model_(model) {}

void CpuExecutor::copy_block(int32_t src, int32_t dst, bool window) { model_.kv_cache().copy_block(src, dst, window); }

int32_t CpuExecutor::window_keep_tokens() const {
  return model_.kv_cache().num_window_blocks() > 0 ? cpu_window_keep_tokens(model_.config()) : 0;
}

double log_softmax_at(std::span<const float> logits, int32_t target) {
  float max_logit = logits[0];
  for (float v : logits) max_logit = std::max(max_logit, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  return (static_cast<double>(logits[target]) - max_logit) - std::log(sum);
}

std::vector<sampling::SampleResult> CpuExecutor::execute(const sched::StepPlan& plan,
                                                         std::span<const RowSampling> rows) {
  for (const auto& copy : plan.copies) copy_block(copy.src, copy.dst, copy.window);
  std::vector<SequenceChunk> chunks;
  // Per chunk: its first logits row in logits_, and how many it has.
  std::vector<int64_t> first_row(plan.seqs.size(), 0);
  int64_t n_rows = 0;
  chunks.reserve(plan.seqs.size());
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const auto& seq = plan.seqs[i];
    // A prompt_logprobs chunk needs every position's logits (the sampled
    // row, if any, is its last one).
    const LogitsWanted wanted = !seq.logprob_targets.empty() ? LogitsWanted::kAll
                                : seq.sample                 ? LogitsWanted::kLast
                                                             : LogitsWanted::kNone;
    chunks.push_back(SequenceChunk{seq.tokens, seq.start_pos, seq.block_table, wanted, seq.window_block_table});
    first_row[i] = n_rows;
    n_rows += wanted == LogitsWanted::kAll ? seq.num_tokens() : wanted == LogitsWanted::kLast ? 1 : 0;
  }
  const int64_t n_vocab = model_.config().n_vocab;
  logits_.resize(n_rows * n_vocab);
  model_.forward(chunks, logits_.data());

  prompt_logprobs_.resize(plan.seqs.size());
  std::vector<sampling::SampleResult> results(rows.size());
  for (size_t i = 0; i < plan.seqs.size(); ++i) {
    const auto& seq = plan.seqs[i];
    std::vector<float>& lp = prompt_logprobs_[i];
    lp.clear();
    for (size_t k = 0; k < seq.logprob_targets.size(); ++k) {
      const int32_t target = seq.logprob_targets[k];
      if (target < 0 || target >= n_vocab) throw std::out_of_range("prompt logprob target outside the vocabulary");
      const std::span<const float> row(&logits_[(first_row[i] + static_cast<int64_t>(k)) * n_vocab], n_vocab);
      lp.push_back(static_cast<float>(log_softmax_at(row, target)));
    }
    if (!seq.sample) continue;
    const int64_t sample_row = first_row[i] + (seq.logprob_targets.empty() ? 0 : seq.num_tokens() - 1);
    const RowSampling& rs = rows[seq.logits_row];
    std::span<float> logits(&logits_[sample_row * n_vocab], n_vocab);
    if (rs.want_logprobs) {
      results[seq.logits_row] = rs.sampler->sample_with_logprobs(logits);
    } else {
      results[seq.logits_row].token = rs.sampler->sample(logits);
    }
  }
  return results;
}

std::span<const float> CpuExecutor::prompt_logprobs(size_t seq_index) const {
  if (seq_index >= prompt_logprobs_.size()) return {};
  return prompt_logprobs_[seq_index];
}

}  // namespace loom
