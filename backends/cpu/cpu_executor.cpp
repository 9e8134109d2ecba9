#include "backends/cpu/cpu_executor.h"

#include <algorithm>

namespace loom {

CpuExecutor::CpuExecutor(CpuModel& model) : model_(model) {}

void CpuExecutor::copy_block(int32_t src, int32_t dst) { model_.kv_cache().copy_block(src, dst); }

std::vector<sampling::SampleResult> CpuExecutor::execute(const sched::StepPlan& plan,
                                                         std::span<const RowSampling> rows) {
  for (const auto& copy : plan.copies) copy_block(copy.src, copy.dst);
  std::vector<SequenceChunk> chunks;
  std::vector<int> row_of_chunk;  // logits row of each chunk that samples, in chunk order
  chunks.reserve(plan.seqs.size());
  for (const auto& seq : plan.seqs) {
    chunks.push_back(SequenceChunk{seq.tokens, seq.start_pos, seq.block_table,
                                   seq.sample ? LogitsWanted::kLast : LogitsWanted::kNone});
    if (seq.sample) row_of_chunk.push_back(seq.logits_row);
  }
  const int64_t n_vocab = model_.config().n_vocab;
  logits_.resize(row_of_chunk.size() * n_vocab);
  model_.forward(chunks, logits_.data());

  std::vector<sampling::SampleResult> results(rows.size());
  for (size_t i = 0; i < row_of_chunk.size(); ++i) {
    const int row = row_of_chunk[i];
    const RowSampling& rs = rows[row];
    std::span<float> logits(&logits_[i * n_vocab], n_vocab);
    if (rs.want_logprobs) {
      results[row] = rs.sampler->sample_with_logprobs(logits);
    } else {
      results[row].token = rs.sampler->sample(logits);
    }
  }
  return results;
}

}  // namespace loom
