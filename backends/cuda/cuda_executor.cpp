#include "backends/cuda/cuda_executor.h"

#include <stdexcept>

#include "backends/cuda/host_logprobs.h"

namespace loom {

using namespace cuda_backend;

namespace {

bool decode_only(const sched::StepPlan& plan) {
  for (const auto& s : plan.seqs)
    if (s.num_tokens() != 1 || !s.sample) return false;
  return !plan.seqs.empty();
}

bool any_logprobs(std::span<const RowSampling> rows) {
  for (const auto& r : rows)
    if (r.want_logprobs) return true;
  return false;
}

}  // namespace

CudaExecutor::CudaExecutor(CudaModel& model)
    : model_(model), download_((2 * model.max_num_seqs() + 1) * sizeof(int32_t)) {}

std::vector<sampling::SampleResult> CudaExecutor::execute(const sched::StepPlan& plan,
                                                          std::span<const RowSampling> rows) {
  model_.make_current();  // steps run on the engine's thread, not the loader's
  CudaForward& fwd = model_.forward();
  cudaStream_t stream = model_.stream();
  for (const auto& copy : plan.copies) fwd.copy_block(copy.src, copy.dst, copy.window);
  const bool logprobs = any_logprobs(rows);
  // Graphs sample inside the replay, so logprob rows (which need the raw
  // logits first) take the eager path.
  const int32_t graph = decode_only(plan) && !logprobs
                            ? model_.graphs().pick(static_cast<int32_t>(plan.seqs.size()))
                            : 0;
  const StepShape shape = model_.metadata().build(plan, rows, graph);
  model_.metadata().upload(shape, stream);
  std::vector<std::vector<float>> raw;
  if (graph > 0) {
    model_.graphs().launch(graph, stream);
    ++graph_steps_;
  } else {
    fwd.enqueue_logits(shape);
    if (logprobs) raw = download_rows_for_logprobs(shape, rows);
    fwd.enqueue_sample(shape);
    ++eager_steps_;
  }
  const size_t S = static_cast<size_t>(model_.max_num_seqs());
  check_cuda(cudaMemcpyAsync(download_.as(), fwd.out(), (2 * S + 1) * sizeof(int32_t),
                             cudaMemcpyDeviceToHost, stream),
             "download sampled tokens");
  check_cuda(cudaStreamSynchronize(stream), "step");
  last_shape_ = shape;
  return collect(shape, rows, raw);
}

std::vector<std::vector<float>> CudaExecutor::download_rows_for_logprobs(const StepShape& shape,
                                                                         std::span<const RowSampling> rows) {
  const size_t vocab = static_cast<size_t>(model_.config().n_vocab);
  std::vector<std::vector<float>> raw(shape.plan_row.size());
  for (size_t r = 0; r < shape.plan_row.size(); ++r) {
    if (!rows[shape.plan_row[r]].want_logprobs) continue;
    raw[r].resize(vocab);
    check_cuda(cudaMemcpyAsync(raw[r].data(), model_.forward().logits() + r * vocab, vocab * sizeof(float),
                               cudaMemcpyDeviceToHost, model_.stream()),
               "download logits for logprobs");
  }
  check_cuda(cudaStreamSynchronize(model_.stream()), "download logits for logprobs");
  return raw;
}

std::vector<sampling::SampleResult> CudaExecutor::collect(const StepShape& shape,
                                                          std::span<const RowSampling> rows,
                                                          const std::vector<std::vector<float>>& raw) {
  const int32_t S = model_.max_num_seqs();
  const int32_t* tokens = download_.as<int32_t>();
  const int32_t* status = tokens + S;
  if (tokens[2 * S] != 0)
    throw ModelError("the device reported an out-of-range token, position or block id");
  for (size_t r = 0; r < shape.plan_row.size(); ++r)
    if (status[r] == cuda::kSampleNoFiniteLogit)
      throw std::domain_error("sampling: no finite logits to sample from");
  std::vector<sampling::SampleResult> results(rows.size());
  for (size_t r = 0; r < shape.plan_row.size(); ++r) {
    const RowSampling& rs = rows[shape.plan_row[r]];
    sampling::SampleResult& out = results[shape.plan_row[r]];
    out.token = tokens[r];
    if (rs.want_logprobs && !raw[r].empty())
      host_logprobs(raw[r], out.token, rs.top_logprobs, out);
    if (rs.sampler) rs.sampler->record_sample(out.token, status[r] == cuda::kSampleDrew);
  }
  return results;
}

std::vector<float> CudaExecutor::last_logits() const {
  const size_t vocab = static_cast<size_t>(model_.config().n_vocab);
  std::vector<float> out(last_shape_.plan_row.size() * vocab);
  for (size_t r = 0; r < last_shape_.plan_row.size(); ++r)
    check_cuda(cudaMemcpy(&out[static_cast<size_t>(last_shape_.plan_row[r]) * vocab],
                          model_.forward().logits() + r * vocab, vocab * sizeof(float), cudaMemcpyDeviceToHost),
               "download logits");
  return out;
}

}  // namespace loom
