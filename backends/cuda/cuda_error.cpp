#include "backends/cuda/cuda_error.h"

namespace loom::cuda_backend {

void check_cuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // clear the sticky-free error state so later calls report their own
  throw CudaError(std::string(what) + ": " + cudaGetErrorName(status) + ": " +
                  cudaGetErrorString(status));
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CudaError(std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(status)) +
                  ": " + cublasGetStatusString(status));
}

}  // namespace loom::cuda_backend
