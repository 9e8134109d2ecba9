// Paged decode attention (bandwidth: every K/V byte of the context once,
// target >= 80%) and prefill attention (tensor-core FLOPs, reported against
// the cuBLAS fp16 ceiling, no target yet) at Llama-2-7B's shape: 32 query
// and 32 KV heads, head dim 128, 16-token blocks, fp16 cache. Each timed call
// reads its own copy of the blocks (disjoint block tables over one pool), so
// contexts smaller than L2 are still read from HBM.
#include <cmath>
#include <memory>
#include <utility>
#include <numeric>
#include <vector>

#include "bench/gpu/bench_sections.h"
#include "kernels/cuda/attention/decode_attention.cuh"
#include "kernels/cuda/attention/prefill_attention.cuh"

namespace loom::gpu_bench {
namespace {

constexpr int32_t kHeads = 32, kKvHeads = 32, kHeadDim = 128, kBlock = 16;

// A pool with `copies` disjoint sets of block tables, each giving `batch`
// sequences of `ctx` tokens.
struct PagedSet {
  int32_t batch, ctx, copies, blocks_per_seq;
  std::unique_ptr<DeviceMem> k, v, indptr, indices, kv_len;

  PagedSet(int32_t b, int32_t c, size_t l2) : batch(b), ctx(c), blocks_per_seq((c + kBlock - 1) / kBlock) {
    copies = rotation_copies(kv_bytes(), l2, 16);
    const size_t blocks = size_t(copies) * batch * blocks_per_seq;
    const size_t elems = blocks * kBlock * kKvHeads * kHeadDim;
    k = std::make_unique<DeviceMem>(elems * 2);
    v = std::make_unique<DeviceMem>(elems * 2);
    fill_random_halves(k->as<__half>(), elems, -1, 1, 21);
    fill_random_halves(v->as<__half>(), elems, -1, 1, 22);
    std::vector<int32_t> ip(batch + 1), idx(blocks), len(batch, ctx);
    for (int32_t i = 0; i <= batch; ++i) ip[i] = i * blocks_per_seq;
    std::iota(idx.begin(), idx.end(), 0);
    indptr = upload(ip), indices = upload(idx), kv_len = upload(len);
  }
  double kv_bytes() const { return double(batch) * ctx * kKvHeads * kHeadDim * 2 * 2; }
  cuda::PagedKvCache view(int copy) const {
    cuda::PagedKvCache kv;
    kv.k = k->as<__half>();
    kv.v = v->as<__half>();
    kv.num_blocks = copies * batch * blocks_per_seq;
    kv.block_size = kBlock;
    kv.n_kv_heads = kKvHeads;
    kv.head_dim = kHeadDim;
    kv.batch = batch;
    kv.block_indptr = indptr->as<int32_t>();
    kv.block_indices = indices->as<int32_t>() + size_t(copy) * batch * blocks_per_seq;
    kv.kv_len = kv_len->as<int32_t>();
    return kv;
  }
  static std::unique_ptr<DeviceMem> upload(const std::vector<int32_t>& h) {
    auto d = std::make_unique<DeviceMem>(h.size() * 4);
    LOOM_BENCH_CHECK(cudaMemcpy(d->as(), h.data(), h.size() * 4, cudaMemcpyHostToDevice));
    return d;
  }
};

void bench_decode(int32_t batch, int32_t ctx, const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const PagedSet set(batch, ctx, dev.l2_bytes);
  const size_t q_elems = size_t(batch) * kHeads * kHeadDim;
  DeviceMem q(q_elems * 2), out(q_elems * 2);
  fill_random_halves(q.as<__half>(), q_elems, -1, 1, 23);
  cuda::DecodeAttentionArgs a;
  a.q = q.as<__half>();
  a.out = out.as<__half>();
  a.n_heads = kHeads;
  a.scale = 1.0f / std::sqrt(float(kHeadDim));
  a.max_kv_len = ctx;
  a.split_len = cuda::decode_attention_default_split_len(batch, kKvHeads, ctx, dev.sm_count);
  DeviceMem ws(cuda::decode_attention_workspace_bytes(batch, kHeads, kHeadDim, ctx, a.split_len));
  a.workspace = ws.as();
  const double us = time_us([&](int i, cudaStream_t s) {
    LOOM_BENCH_CHECK(cuda::launch_decode_attention(set.view(i % set.copies), a, s));
  });
  const std::string shape = "7B 32/32 heads hd128, B=" + std::to_string(batch) + " ctx " + std::to_string(ctx) +
                            " split " + std::to_string(a.split_len);
  table.add(bandwidth_result("decode attention", shape, us, set.kv_bytes() + 2.0 * q_elems * 2, c.copy_gbs, 0.8));
}

void bench_prefill(int32_t len, const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const PagedSet set(1, len, dev.l2_bytes);
  const size_t q_elems = size_t(len) * kHeads * kHeadDim;
  DeviceMem q(q_elems * 2), out(q_elems * 2);
  fill_random_halves(q.as<__half>(), q_elems, -1, 1, 24);
  const auto q_indptr = PagedSet::upload({0, len});
  cuda::PrefillAttentionArgs a;
  a.q = q.as<__half>();
  a.out = out.as<__half>();
  a.q_indptr = q_indptr->as<int32_t>();
  a.max_q_len = len;
  a.n_heads = kHeads;
  a.scale = 1.0f / std::sqrt(float(kHeadDim));
  const double us = time_us([&](int i, cudaStream_t s) {
    LOOM_BENCH_CHECK(cuda::launch_prefill_attention(set.view(i % set.copies), a, s));
  }, 10);
  Result r;
  r.kernel = "prefill attention (causal)";
  r.shape = "7B 32/32 heads hd128, 1 seq x " + std::to_string(len) + " tokens";
  r.us = us;
  r.flops = 4.0 * kHeadDim * kHeads * (double(len) * (len + 1) / 2);  // QK^T + PV over the causal triangle
  r.unit = "TFLOP/s";
  r.achieved = r.flops / (us * 1e6);
  r.ceiling = c.fp16_tflops;
  table.add(r);
}

}  // namespace

void bench_attention(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const std::vector<std::pair<int32_t, int32_t>> decode_shapes = {{1, 1024}, {1, 4096}, {1, 16384}, {16, 1024},
                                                                   {16, 4096}};  // (batch, context)
  for (const auto& [batch, ctx] : decode_shapes) bench_decode(batch, ctx, c, dev, table);
  for (int32_t len : {512, 2048}) bench_prefill(len, c, dev, table);
}

}  // namespace loom::gpu_bench
