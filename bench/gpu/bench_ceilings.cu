// The device's own ceilings, measured in the same run as the kernels:
// device-to-device copy bandwidth (1 GiB, counted as read + write) and cuBLAS
// fp16 GEMM throughput (8192 x 8192 x 8192, fp32 accumulation, tensor cores).
#include <cublas_v2.h>

#include "bench/gpu/bench_sections.h"

namespace loom::gpu_bench {

Ceilings measure_ceilings(const DeviceInfo& dev, ResultTable& table) {
  Ceilings c;
  const size_t bytes = size_t{1} << 30;
  DeviceMem a(bytes), b(bytes);
  fill_random_bytes(a.as(), bytes, 1);
  const double copy_us = time_us([&](int, cudaStream_t s) {
    LOOM_BENCH_CHECK(cudaMemcpyAsync(b.as(), a.as(), bytes, cudaMemcpyDeviceToDevice, s));
  }, 10, 2);
  c.copy_gbs = 2.0 * bytes / (copy_us * 1e3);
  table.add(bandwidth_result("ceiling: D2D copy", "1 GiB", copy_us, 2.0 * bytes, 0, 0));

  const int n = 8192;
  DeviceMem x(size_t(n) * n * 2), y(size_t(n) * n * 2), z(size_t(n) * n * 2);
  fill_random_halves(x.as<__half>(), size_t(n) * n, -1, 1, 2);
  fill_random_halves(y.as<__half>(), size_t(n) * n, -1, 1, 3);
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
  const float one = 1, zero = 0;
  const double us = time_us([&](int, cudaStream_t s) {
    cublasSetStream(h, s);
    if (cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, x.as(), CUDA_R_16F, n, y.as(), CUDA_R_16F, n,
                     &zero, z.as(), CUDA_R_16F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
      throw std::runtime_error("cublasGemmEx (ceiling) failed");
  }, 5, 2);
  cublasDestroy(h);
  Result r;
  r.kernel = "ceiling: cuBLAS fp16 GEMM";
  r.shape = "8192^3";
  r.us = us;
  r.flops = 2.0 * n * n * double(n);
  r.unit = "TFLOP/s";
  r.achieved = r.flops / (us * 1e6);
  c.fp16_tflops = r.achieved;
  table.add(r);
  (void)dev;
  return c;
}

}  // namespace loom::gpu_bench
