// RMSNorm (+ fused residual add), SiLU-and-multiply and row gather vs the CPU
// scalar references (loom::cpu::ref::rms_norm, ref::swiglu).
#include "kernels/cpu/activation.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/ops/gather_rows.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/swiglu.cuh"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

// |got - want| within a couple of fp16 ulps of want (fp32 vs double sums and
// the final fp16 rounding).
void expect_half_close(float got, float want, const char* what, size_t i) {
  ASSERT_FALSE(std::isnan(got)) << what << " " << i << " not written";
  ASSERT_NEAR(got, want, 2e-3f * std::fabs(want) + 1e-4f) << what << " " << i;
}

void check_rms_norm(int32_t rows, int32_t dim, bool fused) {
  SCOPED_TRACE(testing::Message() << rows << "x" << dim << (fused ? " fused" : " plain"));
  std::mt19937 rng(rows * 1000 + dim);
  const auto x = random_halves(rng, size_t(rows) * dim, 2.0f);
  const auto res = random_halves(rng, size_t(rows) * dim, 2.0f);
  std::vector<float> w(dim);
  std::uniform_real_distribution<float> wd(0.5f, 1.5f);
  for (auto& v : w) v = wd(rng);
  DeviceBuffer<uint16_t> dx(x), dres(res), dy(std::vector<uint16_t>(x.size(), kHalfNaN));
  DeviceBuffer<float> dw(w);
  const float eps = 1e-5f;
  ASSERT_EQ(cuda::launch_add_rms_norm(dx.as<__half>(), fused ? dres.as<__half>() : nullptr, dw.get(),
                                      dy.as<__half>(), rows, dim, eps, nullptr),
            cudaSuccess);
  // Reference: the fp16-rounded sum is the new stream, normalised in float64-ish.
  std::vector<float> sum(x.size()), want(x.size());
  std::vector<uint16_t> sum_bits(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float s = half_to_float(x[i]) + (fused ? half_to_float(res[i]) : 0.0f);
    sum_bits[i] = fused ? float_to_half(s) : x[i];
    sum[i] = half_to_float(sum_bits[i]);
  }
  cpu::ref::rms_norm(sum.data(), w.data(), want.data(), rows, dim, eps);
  EXPECT_EQ(dx.to_host(), sum_bits);  // the stream update is exact
  const auto y = halves_to_floats(dy.to_host());
  for (size_t i = 0; i < y.size(); ++i) expect_half_close(y[i], want[i], "y", i);
}

TEST(CudaRmsNorm, FusedAndPlainMatchReference) {
  for (int32_t rows : {1, 13}) {
    for (int32_t dim : {1, 15, 17, 1000}) {
      check_rms_norm(rows, dim, true);
      check_rms_norm(rows, dim, false);
    }
  }
}

TEST(CudaRmsNorm, BadArgumentsAreRejected) {
  EXPECT_EQ(cuda::launch_add_rms_norm(nullptr, nullptr, nullptr, nullptr, 1, 8, 1e-5f, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaSiluMul, MatchesReferenceWithFusedGateUpLayout) {
  for (int32_t rows : {1, 13}) {
    for (int32_t n : {1, 15, 17, 1000}) {
      SCOPED_TRACE(testing::Message() << rows << "x" << n);
      std::mt19937 rng(rows * 7 + n);
      const auto gate_up = random_halves(rng, size_t(rows) * 2 * n, 3.0f);  // [rows][gate | up]
      DeviceBuffer<uint16_t> din(gate_up), dout(std::vector<uint16_t>(size_t(rows) * n, kHalfNaN));
      const __half* g = din.as<__half>();
      ASSERT_EQ(cuda::launch_silu_mul(g, g + n, 2 * n, dout.as<__half>(), rows, n, nullptr), cudaSuccess);
      const auto got = halves_to_floats(dout.to_host());
      for (int32_t r = 0; r < rows; ++r) {
        std::vector<float> gf(n), uf(n), want(n);
        for (int32_t c = 0; c < n; ++c) {
          gf[c] = half_to_float(gate_up[size_t(r) * 2 * n + c]);
          uf[c] = half_to_float(gate_up[size_t(r) * 2 * n + n + c]);
        }
        cpu::ref::swiglu(gf.data(), uf.data(), want.data(), n);
        for (int32_t c = 0; c < n; ++c) expect_half_close(got[size_t(r) * n + c], want[c], "out", c);
      }
    }
  }
}

TEST(CudaGatherRows, CopiesSelectedRowsAndFlagsBadIndices) {
  for (int32_t dim : {1, 15, 17, 64, 1000}) {
    SCOPED_TRACE(testing::Message() << "dim " << dim);
    std::mt19937 rng(dim);
    const int32_t n_in = 13;
    const auto in = random_halves(rng, size_t(n_in) * dim);
    for (bool with_bad : {false, true}) {
      std::vector<int32_t> rows = {12, 0, 5, 5};
      if (with_bad) rows.push_back(13);
      DeviceBuffer<uint16_t> din(in), dout(std::vector<uint16_t>(rows.size() * dim, kHalfNaN));
      DeviceBuffer<int32_t> drows(rows), dstatus(std::vector<int32_t>{0});
      ASSERT_EQ(cuda::launch_gather_rows(din.as<__half>(), n_in, dim, drows.get(),
                                         static_cast<int32_t>(rows.size()), dout.as<__half>(),
                                         dstatus.get(), nullptr),
                cudaSuccess);
      const auto out = dout.to_host();
      for (size_t r = 0; r < rows.size(); ++r) {
        for (int32_t c = 0; c < dim; ++c) {
          const uint16_t want = rows[r] < n_in ? in[size_t(rows[r]) * dim + c] : 0;
          ASSERT_EQ(out[r * dim + c], want) << "row " << r << " col " << c;
        }
      }
      EXPECT_EQ(dstatus.to_host()[0], with_bad ? 1 : 0);
    }
  }
}

}  // namespace
}  // namespace loom::cuda_test
