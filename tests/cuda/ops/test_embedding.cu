// Embedding gather vs loom::dequantize_row, plus the repack of weight blocks.
#include <stdexcept>

#include "kernels/cpu/dequant.h"
#include "kernels/cuda/ops/embedding.cuh"
#include "kernels/cuda/ops/quant_repack.h"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {

std::vector<uint8_t> random_quant_blocks(std::mt19937& rng, GgmlType type, int64_t n) {
  const auto& info = ggml_type_info(type);
  std::vector<uint8_t> bytes(n / info.block_elems * info.block_bytes);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
  for (size_t off = 0; off < bytes.size(); off += info.block_bytes) {
    const uint16_t d = float_to_half(scale(rng));
    std::memcpy(&bytes[off], &d, 2);
    if (type == GgmlType::Q4_1) {
      const uint16_t m = float_to_half(scale(rng) * 8);
      std::memcpy(&bytes[off + 2], &m, 2);
    }
  }
  return bytes;
}

namespace {

using cuda::ActType;

struct EmbCase {
  GgmlType type;
  int32_t dim;
};

void check_gather(GgmlType type, int32_t dim, const std::vector<int32_t>& ids, ActType out_type) {
  std::mt19937 rng(dim * 31 + static_cast<int>(type));
  const int64_t n_vocab = 50;
  std::vector<uint8_t> table;
  if (type == GgmlType::F16) {
    auto h = random_halves(rng, n_vocab * dim);
    table.resize(h.size() * 2);
    std::memcpy(table.data(), h.data(), table.size());
  } else {
    table = random_quant_blocks(rng, type, n_vocab * dim);
  }
  const size_t row_bytes = table.size() / n_vocab;
  const size_t n_out = ids.size() * dim;
  DeviceBuffer<uint8_t> d_table(table);
  DeviceBuffer<int32_t> d_ids(ids), d_status(std::vector<int32_t>{0});
  DeviceBuffer<float> out32(std::vector<float>(n_out, kNaN));
  DeviceBuffer<uint16_t> out16(std::vector<uint16_t>(n_out, kHalfNaN));
  void* out = out_type == ActType::kF32 ? static_cast<void*>(out32.get()) : out16.get();
  ASSERT_EQ(cuda::launch_embedding_gather(d_table.get(), type, n_vocab, dim, d_ids.get(),
                                          static_cast<int32_t>(ids.size()), out, out_type,
                                          d_status.get(), nullptr),
            cudaSuccess);
  const auto got = out_type == ActType::kF32 ? out32.to_host() : halves_to_floats(out16.to_host());
  std::vector<float> ref(dim);
  bool any_bad = false;
  for (size_t t = 0; t < ids.size(); ++t) {
    const bool valid = ids[t] >= 0 && ids[t] < n_vocab;
    any_bad |= !valid;
    if (valid) dequantize_row(type, table.data() + ids[t] * row_bytes, ref.data(), dim);
    for (int e = 0; e < dim; ++e) {
      float want = valid ? ref[e] : 0.0f;
      if (out_type == ActType::kF16) want = half_to_float(float_to_half(want));
      // Same products in fp32 (d*q, d*q+m): exact up to one rounding.
      ASSERT_NEAR(got[t * dim + e], want, 1e-6f * std::fabs(want) + 1e-7f)
          << "token " << t << " elem " << e;
    }
  }
  EXPECT_EQ(d_status.to_host()[0], any_bad ? 1 : 0);
}

TEST(CudaEmbedding, QuantizedAndF16TablesMatchDequantizeRow) {
  const std::vector<int32_t> one = {7};
  const std::vector<int32_t> thirteen = {0, 49, 3, 3, 17, 8, 1, 49, 22, 5, 5, 30, 11};
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::F16}) {
    for (int32_t dim : {32, 64, 1024}) {
      for (ActType out : {ActType::kF16, ActType::kF32}) {
        SCOPED_TRACE(testing::Message() << ggml_type_info(type).name << " dim " << dim);
        check_gather(type, dim, one, out);
        check_gather(type, dim, thirteen, out);
      }
    }
  }
  for (int32_t dim : {1, 15, 17}) check_gather(GgmlType::F16, dim, thirteen, ActType::kF32);
}

TEST(CudaEmbedding, OutOfRangeIdsGiveZerosAndStatus) {
  check_gather(GgmlType::Q8_0, 64, {3, -1, 50, 4}, ActType::kF32);
}

TEST(CudaEmbedding, BadArgumentsAreRejected) {
  int32_t dummy = 0;
  EXPECT_EQ(cuda::launch_embedding_gather(&dummy, GgmlType::Q4_0, 10, 33, &dummy, 1, &dummy,
                                          ActType::kF16, nullptr, nullptr),
            cudaErrorInvalidValue);  // dim not a multiple of 32
  EXPECT_EQ(cuda::launch_embedding_gather(&dummy, GgmlType::Q6_K, 10, 256, &dummy, 1, &dummy,
                                          ActType::kF16, nullptr, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaRepack, FieldsMatchTheGgufBlocks) {
  std::mt19937 rng(5);
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
    const int64_t rows = 3, k = 96;
    const auto blocks = random_quant_blocks(rng, type, rows * k);
    const auto r = cuda::repack_quant_matrix(type, blocks.data(), rows, k);
    const auto& info = ggml_type_info(type);
    const int qs_bytes = cuda::repacked_block_qs_bytes(type);
    const int qs_off = type == GgmlType::Q4_1 ? 4 : 2;
    ASSERT_EQ(r.qs.size(), static_cast<size_t>(rows * k / 32 * qs_bytes));
    for (int64_t b = 0; b < rows * k / 32; ++b) {
      const uint8_t* src = blocks.data() + b * info.block_bytes;
      uint16_t d, m;
      std::memcpy(&d, src, 2);
      std::memcpy(&m, src + 2, 2);
      EXPECT_EQ(r.d[b], d);
      if (type == GgmlType::Q4_1) EXPECT_EQ(r.m[b], m);
      EXPECT_EQ(std::memcmp(&r.qs[b * qs_bytes], src + qs_off, qs_bytes), 0);
    }
  }
  uint8_t dummy[64] = {};
  EXPECT_THROW(cuda::repack_quant_matrix(GgmlType::Q4_K, dummy, 1, 256), std::invalid_argument);
  EXPECT_THROW(cuda::repack_quant_matrix(GgmlType::Q4_0, dummy, 1, 48), std::invalid_argument);
  EXPECT_THROW(cuda::repack_quant_matrix(GgmlType::Q4_0, nullptr, 1, 32), std::invalid_argument);
}

}  // namespace
}  // namespace loom::cuda_test
