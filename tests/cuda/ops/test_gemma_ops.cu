// The ops Gemma 3 adds on the CUDA backend vs CPU / float64 references:
// GeGLU (loom::cpu::geglu), the fp32 embedding scale and logit soft-cap, the
// fused post-norm + residual + next pre-norm over an fp32 stream, and the
// per-head QK RMSNorm (launch_add_rms_norm in place over [tokens*heads][256]).
#include "kernels/cpu/activation.h"
#include "kernels/cpu/norm.h"
#include "kernels/cuda/ops/geglu.cuh"
#include "kernels/cuda/ops/residual_norm.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/scale.cuh"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

std::vector<float> random_floats(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// One fp16 ulp of want (the only difference from the CPU is tanhf vs
// std::tanh before the fp16 rounding of gelu, then the product's rounding).
TEST(CudaGeluMul, MatchesCpuGeglu) {
  for (int32_t rows : {1, 5}) {
    for (int32_t n : {1, 17, 2048}) {
      SCOPED_TRACE(testing::Message() << rows << "x" << n);
      std::mt19937 rng(rows * 31 + n);
      auto gate = random_halves(rng, size_t(rows) * n, 4.0f);
      const auto up = random_halves(rng, size_t(rows) * n, 2.0f);
      if (gate.size() > 3) gate[0] = float_to_half(-12.0f), gate[1] = float_to_half(11.0f), gate[2] = float_to_half(-10.0f);
      DeviceBuffer<uint16_t> dg(gate), du(up), dout(std::vector<uint16_t>(gate.size(), kHalfNaN));
      ASSERT_EQ(cuda::launch_gelu_mul(dg.as<__half>(), du.as<__half>(), dout.as<__half>(), rows, n, nullptr),
                cudaSuccess);
      const auto got = halves_to_floats(dout.to_host());
      const auto gf = halves_to_floats(gate), uf = halves_to_floats(up);
      std::vector<float> want(gf.size());
      cpu::geglu(gf.data(), uf.data(), want.data(), static_cast<int64_t>(gf.size()));
      int exact = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_FALSE(std::isnan(got[i])) << i;
        ASSERT_NEAR(got[i], want[i], 1e-3f * std::fabs(want[i]) + 1e-6f) << "g " << gf[i] << " u " << uf[i];
        exact += half_to_float(float_to_half(want[i])) == got[i];
      }
      EXPECT_GE(exact, static_cast<int>(got.size() * 0.99)) << "of " << got.size() << " equal to the CPU's fp16";
    }
  }
}

TEST(CudaGeluMul, InPlaceAndBadArguments) {
  std::mt19937 rng(3);
  const auto gate = random_halves(rng, 64, 2.0f), up = random_halves(rng, 64, 2.0f);
  DeviceBuffer<uint16_t> dg(gate), du(up), dref(std::vector<uint16_t>(64, kHalfNaN));
  ASSERT_EQ(cuda::launch_gelu_mul(dg.as<__half>(), du.as<__half>(), dref.as<__half>(), 2, 32, nullptr), cudaSuccess);
  ASSERT_EQ(cuda::launch_gelu_mul(dg.as<__half>(), du.as<__half>(), dg.as<__half>(), 2, 32, nullptr), cudaSuccess);
  EXPECT_EQ(dg.to_host(), dref.to_host());
  EXPECT_EQ(cuda::launch_gelu_mul(nullptr, du.as<__half>(), dg.as<__half>(), 2, 32, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::launch_gelu_mul(dg.as<__half>(), du.as<__half>(), dg.as<__half>(), 2, 0, nullptr),
            cudaErrorInvalidValue);
}

TEST(CudaScale, ScaleAndSoftcapMatchFloat64) {
  std::mt19937 rng(5);
  const auto x = random_floats(rng, 70001, 30.0f);
  DeviceBuffer<float> ds(x), dc(x);
  const float s = std::sqrt(640.0f), cap = 30.0f;
  ASSERT_EQ(cuda::launch_scale_f32(ds.get(), static_cast<int64_t>(x.size()), s, nullptr), cudaSuccess);
  ASSERT_EQ(cuda::launch_softcap_f32(dc.get(), static_cast<int64_t>(x.size()), cap, nullptr), cudaSuccess);
  const auto gs = ds.to_host(), gc = dc.to_host();
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(gs[i], x[i] * s) << i;  // one fp32 multiply, as the CPU
    const double want = cap * std::tanh(static_cast<double>(x[i]) / cap);
    ASSERT_NEAR(gc[i], want, 4e-6 * cap) << x[i];
  }
  EXPECT_EQ(cuda::launch_softcap_f32(dc.get(), 4, 0.0f, nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::launch_scale_f32(nullptr, 4, 1.0f, nullptr), cudaErrorInvalidValue);
}

// float64 rmsnorm of one row.
std::vector<double> rms64(const float* v, const float* w, int32_t dim, float eps) {
  double ss = 0;
  for (int32_t i = 0; i < dim; ++i) ss += double(v[i]) * v[i];
  const double inv = 1.0 / std::sqrt(ss / dim + eps);
  std::vector<double> out(dim);
  for (int32_t i = 0; i < dim; ++i) out[i] = v[i] * inv * w[i];
  return out;
}

void check_post_norm(int32_t rows, int32_t dim, bool with_o) {
  SCOPED_TRACE(testing::Message() << rows << "x" << dim << (with_o ? " post-norm + add" : " norm only"));
  std::mt19937 rng(rows * 100 + dim + with_o);
  // Un-normalised projections far outside fp16's range: the fp32 path keeps them.
  const auto o = random_floats(rng, size_t(rows) * dim, 1e5f);
  const auto x0 = random_floats(rng, size_t(rows) * dim, 20.0f);
  const auto wp = random_floats(rng, dim, 1.0f), wn = random_floats(rng, dim, 1.0f);
  DeviceBuffer<float> d_o(o), d_x(x0), d_wp(wp), d_wn(wn);
  DeviceBuffer<uint16_t> d_y(std::vector<uint16_t>(x0.size(), kHalfNaN));
  const float eps = 1e-6f;
  ASSERT_EQ(cuda::launch_post_norm_add_rms_norm(with_o ? d_o.get() : nullptr, d_wp.get(), d_x.get(), d_wn.get(),
                                                d_y.as<__half>(), rows, dim, eps, nullptr),
            cudaSuccess);
  const auto x = d_x.to_host();
  const auto y = halves_to_floats(d_y.to_host());
  for (int32_t r = 0; r < rows; ++r) {
    const size_t b = size_t(r) * dim;
    std::vector<float> want_x(x0.begin() + b, x0.begin() + b + dim);
    if (with_o) {
      const auto n = rms64(&o[b], wp.data(), dim, eps);
      for (int32_t i = 0; i < dim; ++i) want_x[i] = static_cast<float>(want_x[i] + n[i]);
    }
    for (int32_t i = 0; i < dim; ++i) ASSERT_NEAR(x[b + i], want_x[i], 1e-5 * (std::fabs(want_x[i]) + 1)) << i;
    const auto want_y = rms64(want_x.data(), wn.data(), dim, eps);
    for (int32_t i = 0; i < dim; ++i) ASSERT_NEAR(y[b + i], want_y[i], 1e-3 * std::fabs(want_y[i]) + 1e-4) << i;
  }
}

TEST(CudaPostNorm, MatchesFloat64) {
  for (int32_t rows : {1, 7})
    for (int32_t dim : {1, 33, 640}) {
      check_post_norm(rows, dim, true);
      check_post_norm(rows, dim, false);
    }
  float dummy = 0;
  EXPECT_EQ(cuda::launch_post_norm_add_rms_norm(&dummy, nullptr, &dummy, &dummy, nullptr, 1, 1, 1e-6f, nullptr),
            cudaErrorInvalidValue);
}

// QK-norm: rms_norm over every head row of q ([tokens][heads][256] as
// [tokens*heads][256]) with one [256] weight, in place (y == x).
TEST(CudaRmsNorm, PerHeadInPlaceHeadDim256) {
  const int32_t rows = 3 * 4, dim = 256;
  std::mt19937 rng(9);
  const auto q = random_halves(rng, size_t(rows) * dim, 3.0f);
  std::vector<float> w(dim);
  std::uniform_real_distribution<float> wd(0.5f, 1.5f);
  for (auto& v : w) v = wd(rng);
  DeviceBuffer<uint16_t> dq(q);
  DeviceBuffer<float> dw(w);
  ASSERT_EQ(cuda::launch_add_rms_norm(dq.as<__half>(), nullptr, dw.get(), dq.as<__half>(), rows, dim, 1e-6f, nullptr),
            cudaSuccess);
  const auto got = halves_to_floats(dq.to_host());
  const auto qf = halves_to_floats(q);
  std::vector<float> want(qf.size());
  cpu::ref::rms_norm(qf.data(), w.data(), want.data(), rows, dim, 1e-6f);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-3f * std::fabs(want[i]) + 1e-4f) << i;
}

}  // namespace
}  // namespace loom::cuda_test
