// The small memory-bound ops of a forward pass at Llama-2-7B shapes for a
// 512-token prefill step (dim 4096, 32/32 heads, head dim 128, ffn 11008,
// vocab 32000), and device sampling of 16 rows. Targets from
// kernels/cuda/ROOFLINE.md. Inputs rotate over copies larger than L2.
#include <cmath>
#include <memory>
#include <vector>

#include "bench/gpu/bench_sections.h"
#include "kernels/cuda/ops/embedding.cuh"
#include "kernels/cuda/ops/rms_norm.cuh"
#include "kernels/cuda/ops/rope_kv.cuh"
#include "kernels/cuda/ops/sampling.cuh"
#include "kernels/cuda/ops/swiglu.cuh"

namespace loom::gpu_bench {
namespace {

constexpr int32_t kTokens = 512, kDim = 4096, kFfn = 11008, kVocab = 32000, kHeads = 32, kHeadDim = 128;

std::unique_ptr<DeviceMem> upload_ints(const std::vector<int32_t>& h) {
  auto d = std::make_unique<DeviceMem>(h.size() * 4);
  LOOM_BENCH_CHECK(cudaMemcpy(d->as(), h.data(), h.size() * 4, cudaMemcpyHostToDevice));
  return d;
}

std::vector<int32_t> iota_ints(int32_t n, int32_t mul = 1) {
  std::vector<int32_t> v(n);
  for (int32_t i = 0; i < n; ++i) v[i] = (i * mul) % kVocab;
  return v;
}

void bench_embedding(const Ceilings& c, ResultTable& table) {
  const size_t row_bytes = kDim / 32 * 18;  // Q4_0
  DeviceMem tbl(row_bytes * kVocab), out(size_t(kTokens) * kDim * 2);
  fill_random_bytes(tbl.as(), tbl.bytes(), 31);
  const auto ids = upload_ints(iota_ints(kTokens, 7919));  // scattered rows
  const double us = time_us([&](int, cudaStream_t s) {
    LOOM_BENCH_CHECK(cuda::launch_embedding_gather(tbl.as(), GgmlType::Q4_0, kVocab, kDim, ids->as<int32_t>(),
                                                   kTokens, out.as(), cuda::ActType::kF16, nullptr, s));
  });
  table.add(bandwidth_result("embedding gather Q4_0", "7B 32000x4096, 512 tokens", us,
                             double(kTokens) * (row_bytes + kDim * 2), c.copy_gbs, 0.5));
}

void bench_rms_norm(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const size_t elems = size_t(kTokens) * kDim, call_bytes = elems * 2 * 4;  // x r/w, residual r, y w
  const int copies = rotation_copies(call_bytes, dev.l2_bytes);
  DeviceMem x(elems * 2 * copies), res(elems * 2 * copies), y(elems * 2 * copies), w(kDim * 4);
  fill_random_halves(x.as<__half>(), elems * copies, -1, 1, 41);
  fill_random_halves(res.as<__half>(), elems * copies, -0.01f, 0.01f, 42);
  std::vector<float> ones(kDim, 1.0f);
  LOOM_BENCH_CHECK(cudaMemcpy(w.as(), ones.data(), kDim * 4, cudaMemcpyHostToDevice));
  const double us = time_us([&](int i, cudaStream_t s) {
    const size_t o = (i % copies) * elems;
    LOOM_BENCH_CHECK(cuda::launch_add_rms_norm(x.as<__half>() + o, res.as<__half>() + o, w.as<float>(),
                                               y.as<__half>() + o, kTokens, kDim, 1e-5f, s));
  });
  table.add(bandwidth_result("add + RMSNorm", "7B 512x4096", us, double(call_bytes) + kDim * 4, c.copy_gbs, 0.8));
}

void bench_rope_kv(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const size_t elems = size_t(kTokens) * kHeads * kHeadDim;  // q, k, v and one K or V cache copy
  const double call_bytes = elems * 2.0 * 6;                 // q r/w, k r, v r, cache k w, cache v w
  const int copies = rotation_copies(size_t(call_bytes), dev.l2_bytes);
  DeviceMem q(elems * 2 * copies), k(elems * 2 * copies), v(elems * 2 * copies);
  DeviceMem ck(elems * 2 * copies), cv(elems * 2 * copies);
  fill_random_halves(q.as<__half>(), elems * copies, -1, 1, 51);
  fill_random_halves(k.as<__half>(), elems * copies, -1, 1, 52);
  fill_random_halves(v.as<__half>(), elems * copies, -1, 1, 53);
  std::vector<int32_t> pos(kTokens), seq(kTokens, 0), tables(kTokens / 16);
  for (int32_t t = 0; t < kTokens; ++t) pos[t] = t;
  for (int32_t b = 0; b < kTokens / 16; ++b) tables[b] = b;
  const auto dpos = upload_ints(pos), dseq = upload_ints(seq), dtab = upload_ints(tables);
  cuda::RopeConfig rope;
  rope.head_dim = kHeadDim;
  rope.n_rot = kHeadDim;
  cuda::KvWriteMap map;
  map.positions = dpos->as<int32_t>();
  map.seq_of_token = dseq->as<int32_t>();
  map.block_tables = dtab->as<int32_t>();
  map.n_seqs = 1;
  map.max_blocks_per_seq = kTokens / 16;
  const double us = time_us([&](int i, cudaStream_t s) {
    const size_t o = (i % copies) * elems;
    cuda::PagedKvWriteTarget cache;
    cache.k = ck.as<__half>() + o;
    cache.v = cv.as<__half>() + o;
    cache.num_blocks = kTokens / 16;
    cache.block_size = 16;
    cache.n_kv_heads = kHeads;
    cache.head_dim = kHeadDim;
    LOOM_BENCH_CHECK(cuda::launch_rope_kv_write(rope, q.as<__half>() + o, k.as<__half>() + o, v.as<__half>() + o,
                                                kTokens, kHeads, cache, map, nullptr, s));
  });
  table.add(bandwidth_result("RoPE + KV write", "7B 512 tokens, 32/32 heads hd128", us, call_bytes, c.copy_gbs, 0.7));
}

void bench_swiglu(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  const size_t elems = size_t(kTokens) * kFfn, call_bytes = elems * 2 * 3;
  const int copies = rotation_copies(call_bytes, dev.l2_bytes);
  DeviceMem gate(elems * 2 * copies), up(elems * 2 * copies), out(elems * 2 * copies);
  fill_random_halves(gate.as<__half>(), elems * copies, -4, 4, 61);
  fill_random_halves(up.as<__half>(), elems * copies, -1, 1, 62);
  const double us = time_us([&](int i, cudaStream_t s) {
    const size_t o = (i % copies) * elems;
    LOOM_BENCH_CHECK(cuda::launch_silu_mul(gate.as<__half>() + o, up.as<__half>() + o, kFfn, out.as<__half>() + o,
                                           kTokens, kFfn, s));
  });
  table.add(bandwidth_result("SiLU x mul", "7B 512x11008", us, double(call_bytes), c.copy_gbs, 0.8));
}

void bench_sampling(int32_t vocab, const char* model, ResultTable& table) {
  const int32_t rows = 16;
  DeviceMem logits(size_t(rows) * vocab * 4), params(rows * sizeof(cuda::DeviceSamplingParams));
  DeviceMem tokens(rows * 4), status(rows * 4);
  std::vector<float> h(size_t(rows) * vocab);
  for (size_t i = 0; i < h.size(); ++i) h[i] = 8.0f * std::sin(0.37f * float(i)) + 0.001f * float(i % 977);
  LOOM_BENCH_CHECK(cudaMemcpy(logits.as(), h.data(), h.size() * 4, cudaMemcpyHostToDevice));
  std::vector<cuda::DeviceSamplingParams> p(rows);
  for (int32_t r = 0; r < rows; ++r) p[r].temperature = 0.8f, p[r].top_k = 40, p[r].top_p = 0.9f, p[r].seed = r;
  LOOM_BENCH_CHECK(cudaMemcpy(params.as(), p.data(), p.size() * sizeof(p[0]), cudaMemcpyHostToDevice));
  const double us = time_us([&](int, cudaStream_t s) {
    LOOM_BENCH_CHECK(cuda::launch_sample(logits.as<float>(), rows, vocab, params.as<cuda::DeviceSamplingParams>(),
                                         nullptr, nullptr, tokens.as<int32_t>(), status.as<int32_t>(), s));
  });
  Result r;
  r.kernel = "sampling top-k 40, top-p 0.9, T 0.8";
  r.shape = std::string(model) + " 16 rows x " + std::to_string(vocab);
  r.us = us;
  r.unit = "us";
  r.achieved = us;
  r.target = "< 50 us";
  r.pass = us < 50;
  table.add(r);
}

}  // namespace

void bench_ops(const Ceilings& c, const DeviceInfo& dev, ResultTable& table) {
  bench_embedding(c, table);
  bench_rms_norm(c, dev, table);
  bench_rope_kv(c, dev, table);
  bench_swiglu(c, dev, table);
  bench_sampling(kVocab, "7B", table);
  bench_sampling(49152, "SmolLM2", table);
}

}  // namespace loom::gpu_bench
