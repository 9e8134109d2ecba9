// Emulated cuBLAS against a float64 reference written from the cuBLAS docs:
// column-major, C(i,j) = alpha * sum_p op(A)(i,p) op(B)(p,j) + beta * C(i,j).
#include <cmath>
#include <random>

#include "kernels/cuda/common/cublas.cuh"
#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

struct Problem {
  cublasOperation_t ta, tb;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
};

// Stored shapes: A is (ta == N ? m x k : k x m) with leading dim lda, etc.
std::vector<double> reference(const Problem& p, const std::vector<float>& A,
                              const std::vector<float>& B, const std::vector<float>& C) {
  std::vector<double> out(C.begin(), C.end());
  for (int j = 0; j < p.n; ++j)
    for (int i = 0; i < p.m; ++i) {
      double acc = 0;
      for (int q = 0; q < p.k; ++q) {
        double a = p.ta == CUBLAS_OP_N ? A[i + q * p.lda] : A[q + i * p.lda];
        double b = p.tb == CUBLAS_OP_N ? B[q + j * p.ldb] : B[j + q * p.ldb];
        acc += a * b;
      }
      out[i + j * p.ldc] = p.alpha * acc + p.beta * C[i + j * p.ldc];
    }
  return out;
}

std::vector<float> random_vec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-8, 8);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng) / 4.0f;  // exact in fp16 too
  return v;
}

// Runs cublasGemmEx on fp32 data laid out for `stored` and returns C.
std::vector<float> gemm(const Problem& call, const Problem& stored, const std::vector<float>& A,
                        const std::vector<float>& B, const std::vector<float>& C,
                        cublasStatus_t* status = nullptr) {
  float *dA = to_device(A), *dB = to_device(B), *dC = to_device(C);
  cublasHandle_t h;
  EXPECT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  cublasStatus_t st = cublasGemmEx(h, call.ta, call.tb, call.m, call.n, call.k, &call.alpha, dA,
                                   CUDA_R_32F, call.lda, dB, CUDA_R_32F, call.ldb, &call.beta, dC,
                                   CUDA_R_32F, call.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (status) *status = st;
  auto out = to_host(dC, C.size());
  cublasDestroy(h);
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  return out;
}

double max_err(const std::vector<float>& got, const std::vector<double>& ref) {
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::abs(got[i] - ref[i]));
  return e;
}

TEST(SimtCublas, GemmExMatchesReferenceForEveryTransposeAndPadding) {
  for (auto ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (auto tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      const int m = 7, n = 5, k = 9;
      Problem p{ta, tb, m, n, k, (ta == CUBLAS_OP_N ? m : k) + 3, (tb == CUBLAS_OP_N ? k : n) + 2,
                m + 1, 1.5f, -0.5f};
      auto A = random_vec(p.lda * (ta == CUBLAS_OP_N ? k : m), 1);
      auto B = random_vec(p.ldb * (tb == CUBLAS_OP_N ? n : k), 2);
      auto C = random_vec(p.ldc * n, 3);
      auto ref = reference(p, A, B, C);
      EXPECT_LT(max_err(gemm(p, p, A, B, C), ref), 1e-4) << "ta " << ta << " tb " << tb;
    }
}

TEST(SimtCublas, WrongTransposeOrLeadingDimensionGivesWrongAnswer) {
  const int m = 6, n = 6, k = 6;
  Problem p{CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, k, k, m, 1.0f, 0.0f};
  auto A = random_vec(k * m, 4), B = random_vec(k * n, 5), C = random_vec(m * n, 6);
  auto ref = reference(p, A, B, C);
  EXPECT_LT(max_err(gemm(p, p, A, B, C), ref), 1e-4);
  Problem transposed = p;
  transposed.ta = CUBLAS_OP_N;
  EXPECT_GT(max_err(gemm(transposed, p, A, B, C), ref), 0.5);
  Problem bad_ld = p;
  bad_ld.lda = k + 1;  // reads the wrong elements (and stays inside the buffer for p.lda*m)
  auto A_big = A;
  A_big.resize((k + 1) * m, 0.0f);
  EXPECT_GT(max_err(gemm(bad_ld, p, A_big, B, C), ref), 0.5);
  Problem too_small = p;
  too_small.lda = k - 1;  // lda < k for op T: rejected like the real API
  cublasStatus_t st;
  gemm(too_small, p, A, B, C, &st);
  EXPECT_EQ(st, CUBLAS_STATUS_INVALID_VALUE);
}

TEST(SimtCublas, BetaZeroIgnoresNanInC) {
  Problem p{CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4, 1.0f, 0.0f};
  auto A = random_vec(16, 7), B = random_vec(16, 8);
  std::vector<float> C(16, std::nanf(""));
  auto ref = reference(p, A, B, std::vector<float>(16, 0.0f));
  EXPECT_LT(max_err(gemm(p, p, A, B, C), ref), 1e-5);
}

TEST(SimtCublas, StridedBatchedHalfInputsFloatOutput) {
  const int m = 8, n = 3, k = 16, batch = 3;
  const long long sa = m * k + 5, sb = k * n, sc = m * n + 1;
  auto Af = random_vec(sa * batch, 9), Bf = random_vec(sb * batch, 10);
  std::vector<__half> A(Af.size()), B(Bf.size());
  for (size_t i = 0; i < Af.size(); ++i) A[i] = __float2half(Af[i]);
  for (size_t i = 0; i < Bf.size(); ++i) B[i] = __float2half(Bf[i]);
  __half *dA = to_device(A), *dB = to_device(B);
  float* dC = to_device(std::vector<float>(sc * batch, 0.0f));
  cublasHandle_t h;
  cudaStream_t s;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cublasSetStream(h, s), CUBLAS_STATUS_SUCCESS);
  const float alpha = 1.0f, beta = 0.0f;
  // C_b = A_b^T(stored k x m)... here A stored m x k (N), B stored n x k (T).
  ASSERT_EQ(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_T, m, n, k, &alpha, dA,
                                       CUDA_R_16F, m, sa, dB, CUDA_R_16F, n, sb, &beta, dC,
                                       CUDA_R_32F, m, sc, batch, CUBLAS_COMPUTE_32F,
                                       CUBLAS_GEMM_DEFAULT_TENSOR_OP),
            CUBLAS_STATUS_SUCCESS);
  auto C = to_host(dC, sc * batch);
  for (int b = 0; b < batch; ++b) {
    Problem p{CUBLAS_OP_N, CUBLAS_OP_T, m, n, k, m, n, m, 1.0f, 0.0f};
    std::vector<float> Ab(Af.begin() + b * sa, Af.begin() + b * sa + m * k);
    std::vector<float> Bb(Bf.begin() + b * sb, Bf.begin() + b * sb + n * k);
    auto ref = reference(p, Ab, Bb, std::vector<float>(m * n, 0.0f));
    std::vector<float> Cb(C.begin() + b * sc, C.begin() + b * sc + m * n);
    EXPECT_LT(max_err(Cb, ref), 1e-4) << "batch " << b;
  }
  cublasDestroy(h);
  cudaStreamDestroy(s);
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
}

}  // namespace
