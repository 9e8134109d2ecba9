// RoPE + paged KV write into the int8 cache (kernels/cuda/ops/rope_kv.cu with
// KvCacheDtype::kInt8) vs a float64 scalar reference written from the format
// (kernels/cuda/attention/kv_cache_format.cuh): rotation in double from the
// float angle the formula defines, amax / scale / quants in double.
//
// Tolerances: V's inputs are exact fp16 values, so the device's only error is
// the fp32 rounding of 127/amax and of x * inv (<= 2 * 2^-24 relative): its
// scales equal the reference's to 1e-7 relative and a quant may differ by 1
// only within 1e-4 of a .5 tie. K is rotated in fp32 with __cosf/__sinf
// (|error| < 5e-7, plus 2e-7 for the fp32 angle reduction), so a rotated value
// is within ~1.5e-6 * (|x0| + |x1|) of the float64 one: scales within 2e-6
// relative, quants within 2e-3 (in quant units) of a tie.
#include <cmath>

#include "kernels/cpu/rope.h"
#include "kernels/cuda/ops/rope_kv.cuh"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

constexpr int8_t kPoisonQ = -128;  // never written: quants are clamped to [-127, 127]

struct Int8Case {
  cuda::RopeMode mode;
  int32_t head_dim, n_rot;
  bool llama3;
  int32_t n_tokens;  // split over two sequences
  int32_t n_kv = 2;
  float freq_base = 0.0f;  // 0: 10000 (500000 with llama3 factors)
};

// float64 rotation of one head (n_rot dims rotated, the rest copied) at pos.
std::vector<double> rotate_ref(const Int8Case& c, const uint16_t* x, int32_t pos, float theta_scale,
                               const std::vector<float>& factors) {
  const int32_t d = c.head_dim, half = c.n_rot / 2;
  std::vector<double> out(d);
  for (int32_t e = 0; e < d; ++e) out[e] = half_to_float(x[e]);
  for (int32_t i = 0; i < half; ++i) {
    float theta = static_cast<float>(pos);  // the formula's float angle (ggml's)
    for (int32_t j = 0; j < i; ++j) theta *= theta_scale;
    const float ff = factors.empty() ? 1.0f : factors[i];
    const double angle = 1.0f * (theta / ff);
    const int32_t ia = c.mode == cuda::RopeMode::kNeox ? i : 2 * i;
    const int32_t ib = c.mode == cuda::RopeMode::kNeox ? i + half : 2 * i + 1;
    const double x0 = half_to_float(x[ia]), x1 = half_to_float(x[ib]);
    out[ia] = x0 * std::cos(angle) - x1 * std::sin(angle);
    out[ib] = x0 * std::sin(angle) + x1 * std::cos(angle);
  }
  return out;
}

// Counts of quants that differ by one inside the tie window (information).
struct QuantCheck {
  int flips = 0;
};

// One head: the device's quants/scale against the float64 reference `x`.
void check_head(const std::vector<double>& x, const int8_t* q, float scale, double scale_rel_tol,
                double tie_window, const std::string& what, QuantCheck& count) {
  double amax = 0.0;
  for (double v : x) amax = std::max(amax, std::fabs(v));
  const double scale_ref = amax / 127.0;
  ASSERT_TRUE(std::isfinite(scale)) << what;
  ASSERT_LE(std::fabs(scale - scale_ref), scale_rel_tol * scale_ref) << what << ": scale " << scale
                                                                     << " vs " << scale_ref;
  for (size_t i = 0; i < x.size(); ++i) {
    const double real = amax == 0.0 ? 0.0 : x[i] * 127.0 / amax;
    const double want = std::clamp(std::nearbyint(real), -127.0, 127.0);  // nearest even
    const int diff = q[i] - static_cast<int>(want);
    if (diff == 0) continue;
    const double from_tie = std::fabs(std::fabs(real - std::floor(real)) - 0.5);
    ASSERT_TRUE(std::abs(diff) == 1 && from_tie <= tie_window)
        << what << " element " << i << ": q " << int(q[i]) << " vs " << want << " (exact " << real
        << ")";
    ++count.flips;
  }
}

void check_rope_kv_int8(const Int8Case& c) {
  SCOPED_TRACE(testing::Message() << "mode " << int(c.mode) << " head_dim " << c.head_dim
                                  << " n_rot " << c.n_rot << " llama3 " << c.llama3 << " tokens "
                                  << c.n_tokens << " n_kv " << c.n_kv);
  std::mt19937 rng(c.head_dim * 100 + c.n_rot + c.n_tokens + c.llama3 + 7);
  const int32_t n_kv = c.n_kv, n_heads = 3 * n_kv, block_size = 16, num_blocks = 40, max_blocks = 16;
  const int32_t d = c.head_dim;
  std::vector<int32_t> seq(c.n_tokens), pos(c.n_tokens), next = {3, 200};
  for (int32_t t = 0; t < c.n_tokens; ++t) {
    seq[t] = t % 2;
    pos[t] = next[seq[t]]++;
  }
  std::vector<int32_t> perm(num_blocks);
  for (int32_t i = 0; i < num_blocks; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  const std::vector<int32_t> tables(perm.begin(), perm.begin() + 2 * max_blocks);

  // Per-token magnitudes from 1e-3 to 1e2, so a kernel that shares a scale
  // across tokens or heads cannot pass; token 0's head 0 is all zeros.
  std::vector<uint16_t> k, v;
  for (int32_t t = 0; t < c.n_tokens; ++t)
    for (int32_t h = 0; h < n_kv; ++h) {
      const float mag = std::pow(10.0f, -3.0f + 5.0f * ((t * n_kv + h) % 7) / 6.0f);
      auto kh = random_halves(rng, d, mag), vh = random_halves(rng, d, mag);
      if (t == 0 && h == 0) kh.assign(d, 0), vh.assign(d, 0);
      k.insert(k.end(), kh.begin(), kh.end());
      v.insert(v.end(), vh.begin(), vh.end());
    }
  const auto q = random_halves(rng, size_t(c.n_tokens) * n_heads * d);
  std::vector<float> factors;
  if (c.llama3) factors = cpu::llama3_rope_factors({}, 500000.0f, c.n_rot);
  const float base = c.freq_base > 0.0f ? c.freq_base : c.llama3 ? 500000.0f : 10000.0f;

  const size_t slots = size_t(num_blocks) * block_size * n_kv;
  DeviceBuffer<uint16_t> dq(q), dk(k), dv(v);
  DeviceBuffer<int8_t> dkq(std::vector<int8_t>(slots * d, kPoisonQ)),
      dvq(std::vector<int8_t>(slots * d, kPoisonQ));
  DeviceBuffer<float> dks(std::vector<float>(slots, kNaN)), dvs(std::vector<float>(slots, kNaN));
  DeviceBuffer<int32_t> dpos(pos), dseq(seq), dtables(tables), dstatus(std::vector<int32_t>{0});
  DeviceBuffer<float> dfactors(factors);
  cuda::RopeConfig rc{c.mode, d, c.n_rot, base, 1.0f, c.llama3 ? dfactors.get() : nullptr};
  cuda::PagedKvWriteTarget cache;
  cache.num_blocks = num_blocks;
  cache.block_size = block_size;
  cache.n_kv_heads = n_kv;
  cache.head_dim = d;
  cache.dtype = cuda::KvCacheDtype::kInt8;
  cache.k_q = dkq.get();
  cache.v_q = dvq.get();
  cache.k_scale = dks.get();
  cache.v_scale = dvs.get();
  cuda::KvWriteMap map{dpos.get(), dseq.get(), dtables.get(), 2, max_blocks};
  ASSERT_EQ(cuda::launch_rope_kv_write(rc, dq.as<__half>(), dk.as<__half>(), dv.as<__half>(),
                                       c.n_tokens, n_heads, cache, map, dstatus.get(), nullptr),
            cudaSuccess);
  EXPECT_EQ(dstatus.to_host()[0], 0);
  const auto gkq = dkq.to_host(), gvq = dvq.to_host();
  const auto gks = dks.to_host(), gvs = dvs.to_host();

  const float theta_scale = std::pow(base, -2.0f / static_cast<float>(c.n_rot));
  std::vector<bool> owned(slots, false);
  QuantCheck kcount, vcount;
  for (int32_t t = 0; t < c.n_tokens; ++t) {
    const int64_t row = int64_t{tables[seq[t] * max_blocks + pos[t] / block_size]} * block_size +
                        pos[t] % block_size;
    for (int32_t h = 0; h < n_kv; ++h) {
      const int64_t slot = row * n_kv + h;
      owned[slot] = true;
      const size_t src = (size_t(t) * n_kv + h) * d;
      const auto kx = rotate_ref(c, &k[src], pos[t], theta_scale, factors);
      std::vector<double> vx(d);
      for (int32_t e = 0; e < d; ++e) vx[e] = half_to_float(v[src + e]);
      const std::string where = "token " + std::to_string(t) + " head " + std::to_string(h);
      check_head(kx, &gkq[slot * d], gks[slot], 2e-6, 2e-3, "K " + where, kcount);
      check_head(vx, &gvq[slot * d], gvs[slot], 1e-7, 1e-4, "V " + where, vcount);
      if (testing::Test::HasFatalFailure()) return;
    }
  }
  for (size_t s = 0; s < slots; ++s) {  // slots no token owns stay untouched
    if (owned[s]) continue;
    ASSERT_TRUE(std::isnan(gks[s]) && std::isnan(gvs[s])) << "scale of slot " << s;
    for (int32_t e = 0; e < d; ++e)
      ASSERT_TRUE(gkq[s * d + e] == kPoisonQ && gvq[s * d + e] == kPoisonQ) << "slot " << s;
  }
  // Q is rotated in place exactly as in the fp16 path (checked by test_rope_kv.cu):
  // here only that it was written (no NaN) and changed where it rotates.
  for (uint16_t x : dq.to_host()) ASSERT_TRUE(std::isfinite(half_to_float(x)));
  testing::Test::RecordProperty("k_tie_flips", kcount.flips);
  testing::Test::RecordProperty("v_tie_flips", vcount.flips);
}

TEST(CudaRopeKvInt8, MatchesFloat64Quantization) {
  for (auto mode : {cuda::RopeMode::kNorm, cuda::RopeMode::kNeox}) {
    for (int32_t d : {64, 128}) {
      for (int32_t n_tokens : {1, 15, 17}) check_rope_kv_int8({mode, d, d, false, n_tokens});
      check_rope_kv_int8({mode, d, d, true, 13});            // llama3 frequency factors
      check_rope_kv_int8({mode, d, d / 2, false, 13});       // partial rotation
      check_rope_kv_int8({mode, d, d, false, 9, /*n_kv=*/3});  // odd KV head count
    }
  }
}

// Gemma 3: head_dim 256 NEOX (4 warps per head's amax), one KV head, both bases.
TEST(CudaRopeKvInt8, HeadDim256NeoxBothGemmaBases) {
  for (float base : {10000.0f, 1000000.0f})
    check_rope_kv_int8({cuda::RopeMode::kNeox, 256, 256, false, 17, /*n_kv=*/1, base});
}

TEST(CudaRopeKvInt8, MissingScalePoolsAreRejected) {
  const int32_t d = 64;
  std::vector<uint16_t> h(d, 0);
  DeviceBuffer<uint16_t> dq(h), dk(h), dv(h);
  DeviceBuffer<int8_t> dkq(std::vector<int8_t>(4 * d)), dvq(std::vector<int8_t>(4 * d));
  DeviceBuffer<float> dks(std::vector<float>(4)), dvs(std::vector<float>(4));
  DeviceBuffer<int32_t> dpos(std::vector<int32_t>{1}), dseq(std::vector<int32_t>{0}),
      dtables(std::vector<int32_t>{0});
  cuda::RopeConfig rc{cuda::RopeMode::kNorm, d, d, 10000.0f, 1.0f, nullptr};
  cuda::PagedKvWriteTarget cache;
  cache.num_blocks = 1;
  cache.block_size = 4;
  cache.n_kv_heads = 1;
  cache.head_dim = d;
  cache.dtype = cuda::KvCacheDtype::kInt8;
  cache.k_q = dkq.get();
  cache.v_q = dvq.get();
  cache.k_scale = dks.get();
  cuda::KvWriteMap map{dpos.get(), dseq.get(), dtables.get(), 1, 1};
  auto launch = [&] {
    return cuda::launch_rope_kv_write(rc, dq.as<__half>(), dk.as<__half>(), dv.as<__half>(), 1, 1,
                                      cache, map, nullptr, nullptr);
  };
  EXPECT_EQ(launch(), cudaErrorInvalidValue);  // no v_scale
  cache.v_scale = dvs.get();
  EXPECT_EQ(launch(), cudaSuccess);
  cache.dtype = static_cast<cuda::KvCacheDtype>(7);
  EXPECT_EQ(launch(), cudaErrorInvalidValue);
}

}  // namespace
}  // namespace loom::cuda_test
