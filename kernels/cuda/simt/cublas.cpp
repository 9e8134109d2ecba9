// Reference GEMM behind the emulated cuBLAS entry points.
#include "kernels/cuda/simt/cublas.h"

#include <algorithm>

#include "kernels/cuda/simt/fp_types.h"

namespace loom::simt::rt {

struct SimBlas {
  cudaStream_t stream = nullptr;
};

namespace {


float load(const void* base, cudaDataType_t t, long long i) {
  switch (t) {
    case CUDA_R_32F: return static_cast<const float*>(base)[i];
    case CUDA_R_16F: return __half2float(static_cast<const __half*>(base)[i]);
    case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
  }
  return 0.0f;
}

void store(void* base, cudaDataType_t t, long long i, float v) {
  switch (t) {
    case CUDA_R_32F: static_cast<float*>(base)[i] = v; break;
    case CUDA_R_16F: static_cast<__half*>(base)[i] = __float2half_rn(v); break;
    case CUDA_R_16BF: static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v); break;
  }
}

bool supported_types(cudaDataType_t a, cudaDataType_t b, cudaDataType_t c,
                     cublasComputeType_t compute) {
  if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
      compute != CUBLAS_COMPUTE_32F_FAST_16F)
    return false;
  if (a != b) return false;
  return c == a || c == CUDA_R_32F;
}

struct Gemm {
  cublasOperation_t ta, tb;
  int m, n, k;
  float alpha, beta;
  const void *A, *B;
  void* C;
  cudaDataType_t at, bt, ct;
  int lda, ldb, ldc;
  long long sa, sb, sc;
  int batch;
};

// Column-major: element (r, c) of a matrix with leading dimension ld is at r + c * ld.
// op(A)(i, p) = A(i, p) for N, A(p, i) for T/C (real types: C == T).
void run(const Gemm& g) {
  for (int b = 0; b < g.batch; ++b)
    for (int j = 0; j < g.n; ++j)
      for (int i = 0; i < g.m; ++i) {
        float acc = 0.0f;
        for (int p = 0; p < g.k; ++p) {
          long long ai = g.ta == CUBLAS_OP_N ? i + 1ll * p * g.lda : p + 1ll * i * g.lda;
          long long bi = g.tb == CUBLAS_OP_N ? p + 1ll * j * g.ldb : j + 1ll * p * g.ldb;
          acc += load(g.A, g.at, b * g.sa + ai) * load(g.B, g.bt, b * g.sb + bi);
        }
        const long long ci = b * g.sc + i + 1ll * j * g.ldc;
        float out = g.alpha * acc;
        if (g.beta != 0.0f) out += g.beta * load(g.C, g.ct, ci);  // beta == 0: C may be NaN
        store(g.C, g.ct, ci, out);
      }
}

cublasStatus_t submit(cublasHandle_t h, Gemm g, const void* alpha, const void* beta,
                      cublasComputeType_t compute) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  auto valid_op = [](cublasOperation_t op) { return op >= CUBLAS_OP_N && op <= CUBLAS_OP_C; };
  if (!valid_op(g.ta) || !valid_op(g.tb) || g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0 ||
      !alpha || !beta)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (g.lda < std::max(1, g.ta == CUBLAS_OP_N ? g.m : g.k) ||
      g.ldb < std::max(1, g.tb == CUBLAS_OP_N ? g.k : g.n) || g.ldc < std::max(1, g.m))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (!supported_types(g.at, g.bt, g.ct, compute)) return CUBLAS_STATUS_NOT_SUPPORTED;
  if (g.m == 0 || g.n == 0 || g.batch == 0) return CUBLAS_STATUS_SUCCESS;
  g.alpha = *static_cast<const float*>(alpha);  // host pointer mode: read at call time
  g.beta = *static_cast<const float*>(beta);
  cudaError_t e = enqueue(h->stream, [g] { run(g); });
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new SimBlas;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void* alpha, const void* A, cudaDataType_t at,
                            int lda, const void* B, cudaDataType_t bt, int ldb, const void* beta,
                            void* C, cudaDataType_t ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t) {
  Gemm g{ta, tb, m, n, k, 0, 0, A, B, C, at, bt, ct, lda, ldb, ldc, 0, 0, 0, 1};
  return submit(h, g, alpha, beta, compute);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta,
                                          cublasOperation_t tb, int m, int n, int k,
                                          const void* alpha, const void* A, cudaDataType_t at,
                                          int lda, long long sa, const void* B, cudaDataType_t bt,
                                          int ldb, long long sb, const void* beta, void* C,
                                          cudaDataType_t ct, int ldc, long long sc, int batch,
                                          cublasComputeType_t compute, cublasGemmAlgo_t) {
  Gemm g{ta, tb, m, n, k, 0, 0, A, B, C, at, bt, ct, lda, ldb, ldc, sa, sb, sc, batch};
  return submit(h, g, alpha, beta, compute);
}

}  // namespace loom::simt::rt
