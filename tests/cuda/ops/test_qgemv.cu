// W4A16 / W8A16 GEMV and small-batch GEMM vs loom::dequantize_row of the GGUF
// blocks and a float64 dot with the fp16 activations.
#include "kernels/cpu/dequant.h"
#include "kernels/cuda/ops/qgemv.cuh"
#include "kernels/cuda/ops/quant_repack.h"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

using cuda::ActType;

void check_qgemv(GgmlType type, int32_t n, int32_t k, int32_t batch, ActType y_type) {
  SCOPED_TRACE(testing::Message() << ggml_type_info(type).name << " N " << n << " K " << k
                                  << " batch " << batch << " f32 " << (y_type == ActType::kF32));
  std::mt19937 rng(n * 7919 + k * 31 + batch);
  const auto blocks = random_quant_blocks(rng, type, int64_t(n) * k);
  const auto x = random_halves(rng, size_t(batch) * k);
  const auto packed = cuda::repack_quant_matrix(type, blocks.data(), n, k);
  DeviceBuffer<uint8_t> dqs(packed.qs);
  DeviceBuffer<uint16_t> dd(packed.d), dm(packed.m), dx(x);
  DeviceBuffer<float> y32(std::vector<float>(size_t(batch) * n, kNaN));
  DeviceBuffer<uint16_t> y16(std::vector<uint16_t>(size_t(batch) * n, kHalfNaN));
  const cuda::QuantMatrixView w{type, n, k, dqs.get(), dd.as<__half>(),
                                type == GgmlType::Q4_1 ? dm.as<__half>() : nullptr};
  void* y = y_type == ActType::kF32 ? static_cast<void*>(y32.get()) : y16.get();
  ASSERT_EQ(cuda::launch_qgemv(w, dx.as<__half>(), batch, y, y_type, nullptr), cudaSuccess);
  const auto got = y_type == ActType::kF32 ? y32.to_host() : halves_to_floats(y16.to_host());

  const size_t row_bytes = blocks.size() / n;
  std::vector<float> wrow(k);
  for (int32_t r = 0; r < n; ++r) {
    dequantize_row(type, blocks.data() + r * row_bytes, wrow.data(), k);
    for (int32_t m = 0; m < batch; ++m) {
      double dot = 0, mag = 0;
      for (int32_t j = 0; j < k; ++j) {
        const double p = double(wrow[j]) * half_to_float(x[size_t(m) * k + j]);
        dot += p;
        mag += std::fabs(p);
      }
      // fp32 accumulation: error ~ eps32 * sqrt(K)-ish * sum|w x|; 2e-6 * sum
      // is loose for that but far below any indexing/nibble mistake.
      double tol = 2e-6 * mag + 1e-6;
      if (y_type == ActType::kF16) tol += std::fabs(dot) * 1e-3;
      const float g = got[size_t(m) * n + r];
      ASSERT_FALSE(std::isnan(g)) << "row " << r << " m " << m << " not written";
      ASSERT_NEAR(g, dot, tol) << "row " << r << " m " << m;
    }
  }
}

TEST(CudaQGemv, GemvAndSmallBatchMatchFloat64Reference) {
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
    for (int32_t batch : {1, 2, 5, 13, 16}) {
      check_qgemv(type, 17, 1024, batch, ActType::kF32);  // 32 blocks per row: every lane twice
      check_qgemv(type, 15, 96, batch, ActType::kF16);    // 3 blocks: most lanes idle
    }
    check_qgemv(type, 1, 32, 1, ActType::kF32);
    check_qgemv(type, 13, 2080, 8, ActType::kF32);  // 65 blocks: ragged second load
    check_qgemv(type, 5, 576, 4, ActType::kF32);    // SmolLM2 hidden size
  }
}

TEST(CudaQGemv, BadArgumentsAreRejected) {
  std::vector<uint8_t> qs(64);
  DeviceBuffer<uint8_t> dqs(qs);
  DeviceBuffer<uint16_t> dd(std::vector<uint16_t>(4)), dx(std::vector<uint16_t>(64 * 17));
  DeviceBuffer<float> y(std::vector<float>(64));
  cuda::QuantMatrixView w{GgmlType::Q4_0, 2, 64, dqs.get(), dd.as<__half>(), nullptr};
  EXPECT_EQ(cuda::launch_qgemv(w, dx.as<__half>(), 17, y.get(), ActType::kF32, nullptr),
            cudaErrorInvalidValue);  // batch > 16
  EXPECT_EQ(cuda::launch_qgemv(w, dx.as<__half>(), 0, y.get(), ActType::kF32, nullptr),
            cudaErrorInvalidValue);
  w.type = GgmlType::Q4_1;  // needs mins
  EXPECT_EQ(cuda::launch_qgemv(w, dx.as<__half>(), 1, y.get(), ActType::kF32, nullptr),
            cudaErrorInvalidValue);
  w.type = GgmlType::Q4_0;
  w.k = 48;
  EXPECT_EQ(cuda::launch_qgemv(w, dx.as<__half>(), 1, y.get(), ActType::kF32, nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace loom::cuda_test
