// launch_add_bias vs a float64 scalar reference: ragged shapes, one to three
// targets of different widths in one launch, rows outside the step untouched.
#include "kernels/cuda/ops/bias_add.cuh"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

struct Case {
  std::vector<uint16_t> x;  // [rows_alloc][width]; rows past n_rows are canaries
  std::vector<float> bias;  // [width]
  int32_t width;
};

// The reference: the fp16 input plus the fp32 bias, in double, rounded once to fp16.
uint16_t want_half(uint16_t x, float bias) {
  return float_to_half(static_cast<float>(static_cast<double>(half_to_float(x)) + bias));
}

void check(const std::vector<int32_t>& widths, int32_t n_rows) {
  SCOPED_TRACE(testing::Message() << widths.size() << " targets, " << n_rows << " rows, first width "
                                  << widths[0]);
  std::mt19937 rng(n_rows * 131 + widths[0]);
  std::normal_distribution<float> bd(0.0f, 4.0f);
  const int32_t rows_alloc = n_rows + 2;  // two canary rows the launch must not touch
  std::vector<Case> cases;
  for (int32_t w : widths) {
    Case c{random_halves(rng, size_t(rows_alloc) * w, 3.0f), std::vector<float>(w), w};
    for (auto& b : c.bias) b = bd(rng);
    c.x[0] = kHalfNaN;  // NaN stays NaN: proves element 0 is really read and written
    cases.push_back(std::move(c));
  }
  std::vector<std::unique_ptr<DeviceBuffer<uint16_t>>> dx;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> db;
  std::vector<cuda::BiasTarget> targets;
  for (const Case& c : cases) {
    dx.push_back(std::make_unique<DeviceBuffer<uint16_t>>(c.x));
    db.push_back(std::make_unique<DeviceBuffer<float>>(c.bias));
    targets.push_back({dx.back()->as<__half>(), db.back()->get(), c.width});
  }
  ASSERT_EQ(cuda::launch_add_bias(targets.data(), static_cast<int32_t>(targets.size()), n_rows, nullptr),
            cudaSuccess);
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const auto got = dx[k]->to_host();
    for (int32_t r = 0; r < rows_alloc; ++r) {
      for (int32_t i = 0; i < c.width; ++i) {
        const size_t at = size_t(r) * c.width + i;
        if (at == 0) {
          ASSERT_TRUE(std::isnan(half_to_float(got[at])));
          continue;
        }
        const uint16_t want = r < n_rows ? want_half(c.x[at], c.bias[i]) : c.x[at];
        ASSERT_EQ(got[at], want) << "target " << k << " row " << r << " col " << i
                                 << (r < n_rows ? "" : " (past n_rows: must be untouched)");
      }
    }
  }
}

TEST(CudaAddBias, MatchesReferenceOnRaggedShapes) {
  for (int32_t rows : {1, 3, 17}) {
    check({1}, rows);
    check({15}, rows);
    check({1000}, rows);
    check({64, 17, 17}, rows);     // Q wider than K/V, as in GQA
    check({896, 128, 128}, rows);  // qwen2-0.5B: 14 heads / 2 kv heads of 64
  }
}

TEST(CudaAddBias, ZeroRowsIsANoOp) {
  std::vector<uint16_t> x(8, kHalfNaN);
  DeviceBuffer<uint16_t> dx(x);
  DeviceBuffer<float> db(std::vector<float>(8, 1.0f));
  const cuda::BiasTarget t{dx.as<__half>(), db.get(), 8};
  ASSERT_EQ(cuda::launch_add_bias(&t, 1, 0, nullptr), cudaSuccess);
  EXPECT_EQ(dx.to_host(), x);
}

TEST(CudaAddBias, BadArgumentsAreRejected) {
  DeviceBuffer<uint16_t> dx(std::vector<uint16_t>(8, 0));
  DeviceBuffer<float> db(std::vector<float>(8, 1.0f));
  const cuda::BiasTarget good{dx.as<__half>(), db.get(), 8};
  cuda::BiasTarget four[4] = {good, good, good, good};
  EXPECT_EQ(cuda::launch_add_bias(nullptr, 1, 1, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::launch_add_bias(four, 0, 1, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::launch_add_bias(four, 4, 1, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::launch_add_bias(&good, 1, -1, nullptr), cudaErrorInvalidValue);
  cuda::BiasTarget bad = good;
  bad.bias = nullptr;
  EXPECT_EQ(cuda::launch_add_bias(&bad, 1, 1, nullptr), cudaErrorInvalidValue);
  bad = good;
  bad.x = nullptr;
  EXPECT_EQ(cuda::launch_add_bias(&bad, 1, 1, nullptr), cudaErrorInvalidValue);
  bad = good;
  bad.width = 0;
  EXPECT_EQ(cuda::launch_add_bias(&bad, 1, 1, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(dx.to_host(), std::vector<uint16_t>(8, 0)) << "a rejected launch must not write";
}

}  // namespace
}  // namespace loom::cuda_test
