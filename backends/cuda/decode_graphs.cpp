#include "backends/cuda/decode_graphs.h"

#include <algorithm>

namespace loom::cuda_backend {

DecodeGraphs::~DecodeGraphs() {
  for (cudaGraphExec_t e : execs_) (void)cudaGraphExecDestroy(e);
}

StepShape DecodeGraphs::decode_shape(int32_t size) {
  StepShape s;
  s.n_tokens = size;
  s.n_decode = size;
  s.n_rows = size;
  s.has_history = true;  // offsets are always written; empty windows are no-ops
  return s;
}

void DecodeGraphs::capture(CudaForward& forward, std::vector<int32_t> sizes, cudaStream_t stream) {
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  for (int32_t size : sizes) {
    if (size <= 0 || size > forward.max_rows()) continue;
    check_cuda(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    try {
      forward.enqueue(decode_shape(size));
    } catch (...) {
      cudaGraph_t broken = nullptr;
      (void)cudaStreamEndCapture(stream, &broken);
      if (broken) (void)cudaGraphDestroy(broken);
      throw;
    }
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamEndCapture(stream, &graph), "cudaStreamEndCapture");
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
    (void)cudaGraphDestroy(graph);
    check_cuda(err, "cudaGraphInstantiate");
    sizes_.push_back(size);
    execs_.push_back(exec);
  }
}

int32_t DecodeGraphs::pick(int32_t n) const {
  for (int32_t s : sizes_)
    if (s >= n) return s;
  return 0;
}

void DecodeGraphs::launch(int32_t size, cudaStream_t stream) const {
  const auto it = std::find(sizes_.begin(), sizes_.end(), size);
  if (it == sizes_.end()) throw CudaError("no decode graph of batch " + std::to_string(size));
  check_cuda(cudaGraphLaunch(execs_[it - sizes_.begin()], stream), "cudaGraphLaunch");
}

}  // namespace loom::cuda_backend
