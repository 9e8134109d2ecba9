// RoPE + paged KV write vs loom::cpu::rope_apply + loom::cpu::kv_write on the
// CPU cache (same [num_blocks][block_size][n_kv_heads][head_dim] layout).
#include "kernels/cpu/attention.h"
#include "kernels/cpu/rope.h"
#include "kernels/cuda/ops/rope_kv.cuh"
#include "tests/cuda/ops/ops_test_util.h"

namespace loom::cuda_test {
namespace {

struct RopeCase {
  cpu::RopeMode mode;
  int32_t head_dim, n_rot;
  bool llama3;
  int32_t n_tokens;  // split over two sequences
  float freq_base = 0.0f;  // 0: 10000 (500000 with llama3 factors)
};

void check_rope_kv(const RopeCase& c) {
  SCOPED_TRACE(testing::Message() << "mode " << int(c.mode) << " head_dim " << c.head_dim << " n_rot "
                                  << c.n_rot << " llama3 " << c.llama3 << " tokens " << c.n_tokens);
  std::mt19937 rng(c.head_dim * 100 + c.n_rot + c.n_tokens + c.llama3);
  const int32_t n_heads = 6, n_kv = 2, block_size = 16, num_blocks = 40, max_blocks = 16;
  const int32_t d = c.head_dim;
  // Two sequences: tokens alternate between them; positions are ragged and
  // some large (RoPE angles far beyond 2*pi).
  std::vector<int32_t> seq(c.n_tokens), pos(c.n_tokens);
  std::vector<int32_t> next = {3, 200};
  for (int32_t t = 0; t < c.n_tokens; ++t) {
    seq[t] = t % 2;
    pos[t] = next[seq[t]]++;
  }
  std::vector<int32_t> tables(2 * max_blocks);
  std::vector<int32_t> perm(num_blocks);
  for (int32_t i = 0; i < num_blocks; ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int32_t i = 0; i < 2 * max_blocks; ++i) tables[i] = perm[i];

  const auto q = random_halves(rng, size_t(c.n_tokens) * n_heads * d);
  const auto k = random_halves(rng, size_t(c.n_tokens) * n_kv * d);
  const auto v = random_halves(rng, size_t(c.n_tokens) * n_kv * d);
  std::vector<float> factors;
  if (c.llama3) factors = cpu::llama3_rope_factors({}, 500000.0f, c.n_rot);
  const float base = c.freq_base > 0.0f ? c.freq_base : c.llama3 ? 500000.0f : 10000.0f;

  // CPU: rope on fp32 copies, then kv_write per sequence.
  cpu::RopeParams rp{c.mode, d, c.n_rot, base, 1.0f, c.llama3 ? factors.data() : nullptr};
  auto qf = halves_to_floats(q), kf = halves_to_floats(k), vf = halves_to_floats(v);
  cpu::rope_apply(rp, qf.data(), c.n_tokens, n_heads, pos.data());
  cpu::rope_apply(rp, kf.data(), c.n_tokens, n_kv, pos.data());
  const size_t cache_elems = size_t(num_blocks) * block_size * n_kv * d;
  std::vector<uint16_t> ck(cache_elems, kHalfNaN), cv(cache_elems, kHalfNaN);
  cpu::PagedKvMut cache{ck.data(), cv.data(), num_blocks, block_size, n_kv, d};
  for (int32_t t = 0; t < c.n_tokens; ++t) {
    cpu::kv_write(cache, &kf[size_t(t) * n_kv * d], &vf[size_t(t) * n_kv * d], 1, pos[t],
                  &tables[seq[t] * max_blocks], max_blocks);
  }

  DeviceBuffer<uint16_t> dq(q), dk(k), dv(v), dck(std::vector<uint16_t>(cache_elems, kHalfNaN)),
      dcv(std::vector<uint16_t>(cache_elems, kHalfNaN));
  DeviceBuffer<int32_t> dpos(pos), dseq(seq), dtables(tables), dstatus(std::vector<int32_t>{0});
  DeviceBuffer<float> dfactors(factors);
  cuda::RopeConfig rc{c.mode == cpu::RopeMode::kNeox ? cuda::RopeMode::kNeox : cuda::RopeMode::kNorm,
                      d, c.n_rot, base, 1.0f, c.llama3 ? dfactors.get() : nullptr};
  cuda::PagedKvWriteTarget dcache{dck.as<__half>(), dcv.as<__half>(), num_blocks, block_size, n_kv, d};
  cuda::KvWriteMap map{dpos.get(), dseq.get(), dtables.get(), 2, max_blocks};
  ASSERT_EQ(cuda::launch_rope_kv_write(rc, dq.as<__half>(), dk.as<__half>(), dv.as<__half>(),
                                       c.n_tokens, n_heads, dcache, map, dstatus.get(), nullptr),
            cudaSuccess);
  EXPECT_EQ(dstatus.to_host()[0], 0);
  // fp16 outputs: the CPU rounds its fp32 result once; device cos/sin differ
  // by < 1e-6, so allow one fp16 ulp.
  auto close = [](float got, float want) { return std::fabs(got - want) <= 1e-3f * std::fabs(want) + 1e-4f; };
  const auto gq = halves_to_floats(dq.to_host());
  for (size_t i = 0; i < gq.size(); ++i) {
    const float want = half_to_float(float_to_half(qf[i]));
    ASSERT_TRUE(close(gq[i], want)) << "q " << i << ": " << gq[i] << " vs " << want;
  }
  const auto gk = dck.to_host(), gv = dcv.to_host();
  for (size_t i = 0; i < cache_elems; ++i) {
    if (ck[i] == kHalfNaN) {  // a slot no token owns stays untouched
      ASSERT_EQ(gk[i], kHalfNaN) << i;
      ASSERT_EQ(gv[i], kHalfNaN) << i;
      continue;
    }
    ASSERT_TRUE(close(half_to_float(gk[i]), half_to_float(ck[i]))) << "k cache " << i;
    ASSERT_EQ(gv[i], cv[i]) << "v cache " << i;  // V is copied bit for bit
  }
}

TEST(CudaRopeKv, MatchesCpuRopeAndKvWrite) {
  for (auto mode : {cpu::RopeMode::kNorm, cpu::RopeMode::kNeox}) {
    for (int32_t d : {64, 128}) {
      for (int32_t n_tokens : {1, 15, 17}) check_rope_kv({mode, d, d, false, n_tokens});
      check_rope_kv({mode, d, d, true, 13});       // llama3 frequency factors
      check_rope_kv({mode, d, d / 2, false, 13});  // partial rotation: dims >= n_rot pass through
    }
  }
}

// Gemma 3: head_dim 256 NEOX, the local (10000) and global (1e6) bases.
TEST(CudaRopeKv, HeadDim256NeoxBothGemmaBases) {
  for (float base : {10000.0f, 1000000.0f})
    for (int32_t n_tokens : {1, 17}) check_rope_kv({cpu::RopeMode::kNeox, 256, 256, false, n_tokens, base});
}

TEST(CudaRopeKv, BadPositionsAndShapes) {
  const int32_t d = 64;
  std::vector<uint16_t> h(d * 4, 0);
  DeviceBuffer<uint16_t> dq(h), dk(h), dv(h), dck(std::vector<uint16_t>(2 * 4 * d, kHalfNaN)),
      dcv(std::vector<uint16_t>(2 * 4 * d, kHalfNaN));
  DeviceBuffer<int32_t> dpos(std::vector<int32_t>{9}), dseq(std::vector<int32_t>{0}),
      dtables(std::vector<int32_t>{0, 1}), dstatus(std::vector<int32_t>{0});
  cuda::RopeConfig rc{cuda::RopeMode::kNorm, d, d, 10000.0f, 1.0f, nullptr};
  cuda::PagedKvWriteTarget cache{dck.as<__half>(), dcv.as<__half>(), 2, 4, 1, d};
  cuda::KvWriteMap map{dpos.get(), dseq.get(), dtables.get(), 1, 2};  // covers positions < 8
  ASSERT_EQ(cuda::launch_rope_kv_write(rc, dq.as<__half>(), dk.as<__half>(), dv.as<__half>(), 1, 1,
                                       cache, map, dstatus.get(), nullptr),
            cudaSuccess);
  EXPECT_EQ(dstatus.to_host()[0], 1);
  for (uint16_t x : dck.to_host()) EXPECT_EQ(x, kHalfNaN);
  rc.n_rot = 66;
  EXPECT_EQ(cuda::launch_rope_kv_write(rc, dq.as<__half>(), dk.as<__half>(), dv.as<__half>(), 1, 1,
                                       cache, map, dstatus.get(), nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace loom::cuda_test
