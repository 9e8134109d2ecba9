// Errors of the CUDA backend: every failing runtime/cuBLAS call becomes a
// CudaError naming the call site and the runtime's message, so a bad step
// fails the plan (engine fail_plan) instead of crashing.
#pragma once
#include <stdexcept>
#include <string>

#include "kernels/cuda/common/cublas.cuh"

namespace loom::cuda_backend {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws CudaError("<what>: <cudaGetErrorName>: <message>") unless ok.
void check_cuda(cudaError_t status, const char* what);
void check_cublas(cublasStatus_t status, const char* what);

}  // namespace loom::cuda_backend
