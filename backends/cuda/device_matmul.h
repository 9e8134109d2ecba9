// y[n][N] = x[n][K] . W[N][K]^T for one DeviceMatrix, on the compute stream.
//   quantized: launch_qgemv over 16-token groups (its largest tier). Prefill
//     re-reads W once per 16 tokens; fine for chunked prefill of SmolLM-size
//     models, the place to add a dequantize-to-fp16 + cuBLAS path (or an mma
//     kernel) for long prompts on 7B-class models.
//   fp16: one cublasGemmEx, fp32 compute (tensor cores on sm_80+).
#pragma once
#include "backends/cuda/device_weights.h"
#include "kernels/cuda/common/cublas.cuh"
#include "kernels/cuda/ops/act_type.cuh"

namespace loom::cuda_backend {

// x: [n][cols] fp16 (16-byte aligned rows); y: [n][rows] in y_type. Throws CudaError.
void matmul(const DeviceMatrix& w, const __half* x, int32_t n, void* y, cuda::ActType y_type,
            cudaStream_t stream, cublasHandle_t cublas);

}  // namespace loom::cuda_backend
