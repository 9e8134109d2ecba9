#include "backends/cuda/device_matmul.h"

#include <algorithm>

namespace loom::cuda_backend {

void matmul(const DeviceMatrix& w, const __half* x, int32_t n, void* y, cuda::ActType y_type,
            cudaStream_t stream, cublasHandle_t cublas) {
  const size_t y_elem = y_type == cuda::ActType::kF32 ? sizeof(float) : sizeof(__half);
  if (w.quantized) {
    for (int32_t t = 0; t < n; t += cuda::kQGemvMaxBatch) {
      const int32_t m = std::min(cuda::kQGemvMaxBatch, n - t);
      check_cuda(cuda::launch_qgemv(w.view, x + static_cast<size_t>(t) * w.cols, m,
                                    static_cast<char*>(y) + static_cast<size_t>(t) * w.rows * y_elem,
                                    y_type, stream),
                 "launch_qgemv");
    }
    return;
  }
  // Column-major view: W row-major [N][K] is A = K x N (lda K), x is B = K x n
  // (ldb K), y is C = N x n (ldc N); C = A^T B.
  const float alpha = 1.0f, beta = 0.0f;
  check_cublas(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, w.rows, n, w.cols, &alpha,
                            w.half.as<__half>(), CUDA_R_16F, w.cols, x, CUDA_R_16F, w.cols, &beta, y,
                            y_type == cuda::ActType::kF32 ? CUDA_R_32F : CUDA_R_16F, w.rows,
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

}  // namespace loom::cuda_backend
