// Quantized GEMV / small-batch GEMM (kernels/cuda/ops/qgemv.cuh) against
// cuBLAS fp16 on the same shapes: the >= 80% of bandwidth target at batch 1
// and the W4A16 >= 3x fp16 target at batch <= 16 (kernels/cuda/ROOFLINE.md).
// Weights are random codes in the repacked layout (quant_repack.h) with the
// scale 2^-8, so no value overflows; timing does not depend on the values.
#include <cublas_v2.h>

#include <memory>

#include "bench/gpu/bench_sections.h"
#include "kernels/cuda/ops/qgemv.cuh"
#include "kernels/cuda/ops/quant_repack.h"

namespace loom::gpu_bench {
namespace {

struct Shape {
  const char* name;
  int32_t n, k;
};
constexpr Shape kShapes[] = {{"7B ffn_up", 11008, 4096}, {"7B ffn_down", 4096, 11008}, {"7B attn_q", 4096, 4096}};
constexpr int32_t kBatches[] = {1, 2, 4, 8, 16};

// `copies` repacked matrices of one type, back to back.
struct QuantSet {
  GgmlType type;
  int32_t n, k, copies;
  std::unique_ptr<DeviceMem> qs, d, m;
  size_t qs_bytes() const { return size_t(n) * (k / 32) * cuda::repacked_block_qs_bytes(type); }
  size_t scale_count() const { return size_t(n) * (k / 32); }
  size_t bytes() const { return qs_bytes() + scale_count() * 2 * (type == GgmlType::Q4_1 ? 2 : 1); }
  cuda::QuantMatrixView view(int i) const {
    const size_t sc = scale_count();
    return {type, n, k, qs->as<uint8_t>() + i * qs_bytes(), d->as<__half>() + i * sc,
            type == GgmlType::Q4_1 ? m->as<__half>() + i * sc : nullptr};
  }
};

QuantSet make_quant_set(GgmlType type, const Shape& s, size_t l2) {
  QuantSet q{type, s.n, s.k, 1, nullptr, nullptr, nullptr};
  q.copies = rotation_copies(q.bytes(), l2);
  q.qs = std::make_unique<DeviceMem>(q.qs_bytes() * q.copies);
  q.d = std::make_unique<DeviceMem>(q.scale_count() * 2 * q.copies);
  fill_random_bytes(q.qs->as(), q.qs->bytes(), 11);
  fill_half_bits(q.d->as<__half>(), q.scale_count() * q.copies, type == GgmlType::Q8_0 ? 0x0C00 : 0x1C00);
  if (type == GgmlType::Q4_1) {
    q.m = std::make_unique<DeviceMem>(q.scale_count() * 2 * q.copies);
    fill_half_bits(q.m->as<__half>(), q.scale_count() * q.copies, 0xA800);
  }
  return q;
}

// cuBLAS fp16: y[B][N] = x[B][K] * W[N][K]^T (W row-major = column-major K x N, op T).
double time_cublas(const Shape& s, int32_t batch, const DeviceMem& w, int copies, const __half* x, __half* y) {
  cublasHandle_t h;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
  const float one = 1, zero = 0;
  const size_t per = size_t(s.n) * s.k;
  const double us = time_us([&](int i, cudaStream_t st) {
    cublasSetStream(h, st);
    if (cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, s.n, batch, s.k, &one, w.as<__half>() + (i % copies) * per,
                     CUDA_R_16F, s.k, x, CUDA_R_16F, s.k, &zero, y, CUDA_R_16F, s.n, CUBLAS_COMPUTE_32F,
                     CUBLAS_GEMM_DEFAULT) != CUBLAS_STATUS_SUCCESS)
      throw std::runtime_error("cublasGemmEx failed");
  });
  cublasDestroy(h);
  return us;
}

std::string shape_text(const Shape& s, int32_t batch) {
  return std::string(s.name) + " " + std::to_string(s.n) + "x" + std::to_string(s.k) + " B=" + std::to_string(batch);
}

}  // namespace

void bench_gemv(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  DeviceMem x(size_t(16) * 11008 * 2), y(size_t(16) * 11008 * 4);
  fill_random_halves(x.as<__half>(), size_t(16) * 11008, -1, 1, 5);
  for (const Shape& s : kShapes) {
    const size_t w16_bytes = size_t(s.n) * s.k * 2;
    const int copies16 = rotation_copies(w16_bytes, dev.l2_bytes);
    DeviceMem w16(w16_bytes * copies16);
    fill_random_halves(w16.as<__half>(), w16_bytes / 2 * copies16, -0.05f, 0.05f, 7);
    double fp16_us[17] = {};
    for (int32_t b : kBatches) {
      fp16_us[b] = time_cublas(s, b, w16, copies16, x.as<__half>(), y.as<__half>());
      const double bytes = w16_bytes + 2.0 * b * (s.k + s.n);
      table.add(bandwidth_result("cuBLAS fp16 GEMM (baseline)", shape_text(s, b), fp16_us[b], bytes, c.copy_gbs, 0));
    }
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
      const QuantSet q = make_quant_set(type, s, dev.l2_bytes);
      const std::string name = "qgemv " + std::string(ggml_type_info(type).name);
      for (int32_t b : kBatches) {
        const double us = time_us([&](int i, cudaStream_t st) {
          LOOM_BENCH_CHECK(cuda::launch_qgemv(q.view(i % q.copies), x.as<__half>(), b, y.as(), cuda::ActType::kF16, st));
        });
        const double bytes = q.bytes() + 2.0 * b * (s.k + s.n);
        table.add(bandwidth_result(name, shape_text(s, b), us, bytes, c.copy_gbs, b == 1 ? 0.8 : 0));
        if (type == GgmlType::Q8_0) continue;
        Result ratio;
        ratio.kernel = name + " speedup vs fp16";
        ratio.shape = shape_text(s, b);
        ratio.us = us;
        ratio.unit = "x";
        ratio.achieved = fp16_us[b] / us;
        ratio.target = ">= 3x fp16";
        ratio.pass = ratio.achieved >= 3.0;
        table.add(ratio);
      }
    }
  }
}

}  // namespace loom::gpu_bench
