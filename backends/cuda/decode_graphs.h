// CUDA graphs of whole decode steps (embedding to sampled tokens) at a set
// of padded batch sizes, captured once at start-up and replayed. A
// decode-only step of n sequences replays the smallest captured size >= n;
// the extra rows are padding slots (token 0, position 0, the padding KV
// block, greedy) whose results are dropped. Every pointer a captured kernel
// reads is fixed (StepMetadata, CudaForward workspace); only the metadata
// contents change between replays, uploaded before the launch on the same
// stream. Shapes outside the set run eagerly through the same enqueue().
#pragma once
#include <cstdint>
#include <vector>

#include "backends/cuda/cuda_forward.h"

namespace loom::cuda_backend {

class DecodeGraphs {
 public:
  DecodeGraphs() = default;
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  // Captures forward.enqueue() of a decode-only shape for each size (sorted,
  // each <= the metadata's max_seqs). Throws CudaError when capture fails.
  void capture(CudaForward& forward, std::vector<int32_t> sizes, cudaStream_t stream);
  // Smallest captured batch >= n, or 0 when none (run eagerly).
  int32_t pick(int32_t n) const;
  void launch(int32_t size, cudaStream_t stream) const;
  const std::vector<int32_t>& sizes() const { return sizes_; }

  // The shape every decode graph of `size` is captured with.
  static StepShape decode_shape(int32_t size);

 private:
  std::vector<int32_t> sizes_;
  std::vector<cudaGraphExec_t> execs_;
};

}  // namespace loom::cuda_backend
