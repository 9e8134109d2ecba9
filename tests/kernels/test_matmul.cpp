// matmul against a float64 reference per output (from the dequantized weights
// and the quantized activations), on every ISA; plus the invariants the
// runtime relies on: outputs bit-identical whatever the batch, strides and
// thread count; every output written; nothing outside it touched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/vec_dot.h"
#include "kernels/cpu/quantize.h"
#include "kernels/cpu/thread_pool.h"
#include "kernel_test_util.h"

namespace loom {
namespace {

constexpr float kPoison = std::numeric_limits<float>::quiet_NaN();

struct Problem {
  GgmlType type;
  int64_t rows, cols, n_tokens, ldx, ldy;
  std::vector<uint8_t> weights;
  std::vector<float> x;

  Problem(GgmlType t, int64_t r, int64_t c, int64_t nt, uint32_t seed, int64_t pad = 3)
      : type(t), rows(r), cols(c), n_tokens(nt), ldx(c + pad), ldy(r + pad) {
    std::mt19937 rng(seed);
    weights = test::random_rows(t, r, c, rng);
    x = test::random_floats(ldx * nt, rng);
  }
  WeightView view() const { return {type, weights.data(), rows, cols, test::row_bytes(type, cols)}; }
  std::vector<float> run(ThreadPool* pool) const {
    std::vector<float> y(ldy * n_tokens, kPoison);
    matmul(view(), x.data(), ldx, n_tokens, y.data(), ldy, pool);
    return y;
  }
};

int64_t cols_for(GgmlType type) { return test::block_elems(type) == 256 ? 512 : 96; }

// Every output close to its float64 reference; padding left untouched.
void check_against_reference(const Problem& p, const std::vector<float>& y) {
  const GgmlType atype = activation_type(p.type);
  const size_t rb = test::row_bytes(p.type, p.cols);
  std::vector<uint8_t> a(test::row_bytes(atype, p.cols));
  const int64_t nb = std::max<int64_t>(1, p.cols / test::block_elems(p.type));
  const int64_t n_terms = test::block_elems(p.type) == 1 ? p.cols / 8 + 8 : nb;
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    quantize_row(atype, &p.x[t * p.ldx], a.data(), p.cols);
    for (int64_t r = 0; r < p.ldy; ++r) {
      const float got = y[t * p.ldy + r];
      if (r >= p.rows) {
        ASSERT_TRUE(std::isnan(got)) << "padding written at t=" << t << " r=" << r;
        continue;
      }
      const auto ref = test::reference_dot(p.type, &p.weights[r * rb], atype, a.data(), p.cols);
      ASSERT_NEAR(got, ref.value, test::float_sum_tolerance(ref.magnitude, n_terms))
          << "t=" << t << " r=" << r;
    }
  }
}

class Matmul : public ::testing::TestWithParam<GgmlType> {};

TEST_P(Matmul, MatchesReferenceOnEveryIsa) {
  const GgmlType type = GetParam();
  ThreadPool pool(3);
  for (Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    for (int64_t rows : {1, 7, 33, 577}) {
      for (int64_t n_tokens : {1, 3, 17}) {
        SCOPED_TRACE(test::type_name(type) + " isa=" + std::string(isa_name(isa)) + " rows=" +
                     std::to_string(rows) + " tokens=" + std::to_string(n_tokens));
        const Problem p(type, rows, cols_for(type), n_tokens, uint32_t(rows * 31 + n_tokens));
        check_against_reference(p, p.run(n_tokens == 3 ? nullptr : &pool));
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Each output is one dot of its row and its token, by the kernel batch_dots
// gives that token of that batch (vec_dot.h: llama.cpp's K-quant order
// depends on the batch size): the same bits whether the token runs alone, at
// another position in another batch, with other strides, or on another
// number of threads, as long as that kernel is the same.
TEST_P(Matmul, BatchAndThreadInvariant) {
  const GgmlType type = GetParam();
  for (Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    const Problem batch(type, 577, cols_for(type), 17, 99);
    const auto y_batch = batch.run(nullptr);
    for (int threads : {2, 3, 4}) {
      ThreadPool pool(threads);
      const auto y = batch.run(&pool);
      ASSERT_EQ(std::memcmp(y.data(), y_batch.data(), y.size() * sizeof(float)), 0)
          << test::type_name(type) << " isa=" << isa_name(isa) << " threads=" << threads;
    }
    // Token 5 alone, with different strides and neighbours.
    const bool batch_head = 5 < batch_head_tokens(type, 17);
    for (int64_t n_tokens : {1, 2, 9, 12}) {
      if ((n_tokens - 1 < batch_head_tokens(type, n_tokens)) != batch_head) continue;  // another kernel
      Problem other(type, 577, cols_for(type), n_tokens, 555, /*pad=*/11);
      other.weights = batch.weights;
      const int64_t slot = n_tokens - 1;
      std::memcpy(&other.x[slot * other.ldx], &batch.x[5 * batch.ldx], batch.cols * sizeof(float));
      ThreadPool pool(2);
      const auto y = other.run(&pool);
      ASSERT_EQ(std::memcmp(&y[slot * other.ldy], &y_batch[5 * batch.ldy], batch.rows * sizeof(float)), 0)
          << test::type_name(type) << " isa=" << isa_name(isa) << " n_tokens=" << n_tokens;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, Matmul, ::testing::ValuesIn(test::kWeightTypes),
                         [](const auto& info) { return test::type_name(info.param); });

TEST(MatmulShapes, RowStrideLargerThanRow) {
  // Rows padded to 64 bytes: the kernel must use row_stride, not the row size.
  const Problem dense(GgmlType::Q4_1, 9, 64, 2, 3);
  const size_t rb = test::row_bytes(GgmlType::Q4_1, 64), stride = 64 + rb;
  std::vector<uint8_t> padded(stride * 9, 0xAB);
  for (int r = 0; r < 9; ++r) std::memcpy(&padded[r * stride], &dense.weights[r * rb], rb);
  std::vector<float> y(2 * dense.ldy, kPoison);
  matmul({GgmlType::Q4_1, padded.data(), 9, 64, stride}, dense.x.data(), dense.ldx, 2, y.data(), dense.ldy,
         nullptr);
  const auto expect = dense.run(nullptr);
  EXPECT_EQ(std::memcmp(y.data(), expect.data(), y.size() * sizeof(float)), 0);
}

TEST(MatmulShapes, RejectsBadShapes) {
  std::vector<uint8_t> w(1 << 16);
  std::vector<float> x(1024), y(1024);
  auto call = [&](GgmlType t, int64_t rows, int64_t cols, size_t stride, int64_t ldx, int64_t nt, int64_t ldy) {
    matmul({t, w.data(), rows, cols, stride}, x.data(), ldx, nt, y.data(), ldy, nullptr);
  };
  EXPECT_THROW(call(GgmlType::Q4_0, 4, 33, 18, 33, 1, 4), KernelError);       // partial block
  EXPECT_THROW(call(GgmlType::Q4_K, 2, 32, 144, 32, 1, 2), KernelError);      // K-quant needs 256
  EXPECT_THROW(call(GgmlType::Q4_0, 4, 64, 18, 64, 1, 4), KernelError);       // stride < row bytes
  EXPECT_THROW(call(GgmlType::Q4_0, 4, 64, 36, 32, 2, 4), KernelError);       // ldx < cols
  EXPECT_THROW(call(GgmlType::Q4_0, 4, 64, 36, 64, 2, 3), KernelError);       // ldy < rows
  EXPECT_THROW(call(GgmlType::Q5_1, 4, 64, 48, 64, 1, 4), KernelError);       // no kernel
  EXPECT_THROW(call(GgmlType::Q4_0, -1, 64, 36, 64, 1, 4), KernelError);      // negative
  EXPECT_NO_THROW(call(GgmlType::Q4_0, 0, 64, 36, 64, 1, 4));                 // empty is fine
}

}  // namespace
}  // namespace loom
