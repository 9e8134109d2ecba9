// Prefill attention (kernels/cuda/attention/prefill_attention.cu) under the
// SIMT emulator vs loom::cpu::ref::attention_paged and float64: causal mask,
// chunked prefill (queries after cached tokens), ragged batches, GQA; over
// the fp16 cache and the int8 cache (reference: attention over q * scale).
#include "kernels/cuda/attention/prefill_attention.cuh"

#include <cmath>

#include "tests/cuda/attention/attention_test_util.h"

namespace {

using namespace loom::attention_test;
using loom::cuda::launch_prefill_attention;
using loom::cuda::PrefillAttentionArgs;

struct Seq {
  int n_q;     // new query tokens
  int kv_len;  // cached tokens including them: queries sit at kv_len - n_q ..
};

// Runs the kernel for `seqs` with a poisoned output; returns it
// ([total_q][n_heads][head_dim]) and the queries used (same shape).
std::vector<__half> run_prefill(const HostCache& cache, const std::vector<int32_t>& q_indptr,
                                const std::vector<float>& q, int window = 0,
                                const HostCache* device_cache = nullptr) {
  const Shape& s = cache.shape;
  DeviceCache dev(device_cache ? *device_cache : cache);
  int max_q = 0;
  for (size_t b = 0; b + 1 < q_indptr.size(); ++b)
    max_q = std::max(max_q, q_indptr[b + 1] - q_indptr[b]);
  __half* dq = to_device(to_halves(q));
  int32_t* dindptr = to_device(q_indptr);
  __half* dout = nullptr;
  EXPECT_EQ(cudaMalloc(&dout, q.size() * sizeof(__half)), cudaSuccess);
  EXPECT_EQ(cudaMemset(dout, 0xff, q.size() * sizeof(__half)), cudaSuccess);
  PrefillAttentionArgs a;
  a.q = dq;
  a.out = dout;
  a.q_indptr = dindptr;
  a.max_q_len = max_q;
  a.n_heads = s.n_heads();
  a.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  a.window = window;
  EXPECT_EQ(launch_prefill_attention(dev.kv, a, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  auto out = to_host(dout, q.size());
  cudaFree(dq);
  cudaFree(dindptr);
  cudaFree(dout);
  return out;
}

// window > 0: a sliding window, with the blocks wholly before each chunk's
// first window dropped (-1) in the kernel's tables.
void check_prefill(const Shape& s, const std::vector<Seq>& seqs, unsigned seed,
                   KvCacheDtype dtype = KvCacheDtype::kF16, int window = 0) {
  std::vector<int> lens, first;
  std::vector<int32_t> q_indptr = {0};
  for (const Seq& x : seqs) {
    lens.push_back(x.kv_len);
    q_indptr.push_back(q_indptr.back() + x.n_q);
    first.push_back(window_lo(x.kv_len - x.n_q, window));
  }
  const HostCache cache = make_cache(s, lens, seed, dtype);
  const HostCache dropped = drop_blocks_before(cache, first);
  const auto q = make_queries(q_indptr.back(), s, seed + 1);
  const auto out = run_prefill(cache, q_indptr, q, window, &dropped);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (size_t b = 0; b < seqs.size(); ++b) {
    const float* qb = q.data() + q_indptr[b] * row;
    const int n = seqs[b].n_q;
    expect_matches(out, q_indptr[b] * row, dense_reference(cache, b, qb, n, scale, window),
                   cpu_reference(cache, b, qb, n, scale, window),
                   "seq " + std::to_string(b) + " (n_q " + std::to_string(n) + ", kv_len " +
                       std::to_string(seqs[b].kv_len) + ")");
  }
}

TEST(CudaPrefillAttention, WholePromptsOfOddLengths) {
  check_prefill({64, 1, 3, 16}, {{1, 1}}, 1);
  check_prefill({64, 1, 3, 16}, {{15, 15}}, 2);
  check_prefill({128, 2, 1, 16}, {{17, 17}}, 3);
  check_prefill({128, 1, 3, 32}, {{33, 33}}, 4);
}

// Sliding window: whole prompts longer than the window, chunks after cached
// tokens, windows smaller than a 64-row tile and than a 32-key tile.
TEST(CudaPrefillAttention, SlidingWindow) {
  for (int window : {5, 40, 100}) {
    SCOPED_TRACE(window);
    check_prefill({64, 1, 3, 16}, {{150, 150}, {7, 7}, {20, 200}}, 90 + window, KvCacheDtype::kF16, window);
    check_prefill({128, 2, 1, 16}, {{70, 130}}, 95 + window, KvCacheDtype::kInt8, window);
  }
}

TEST(CudaPrefillAttention, ChunkAfterCachedTokens) {
  check_prefill({128, 2, 1, 32}, {{15, 32}}, 10);  // positions 17..31
  check_prefill({64, 1, 3, 16}, {{17, 50}}, 11);
  check_prefill({64, 3, 3, 16}, {{1, 77}}, 12);  // a decode step through prefill
}

TEST(CudaPrefillAttention, RaggedBatch13Gqa3) {
  check_prefill({64, 1, 3, 16},
                {{1, 1},
                 {15, 15},
                 {17, 17},
                 {5, 40},
                 {16, 16},
                 {33, 70},
                 {2, 2},
                 {64, 64},
                 {1, 100},
                 {20, 21},
                 {9, 30},
                 {23, 23},
                 {3, 47}},
                20);
}

TEST(CudaPrefillAttention, RaggedBatchHeadDim128BlockSize32) {
  check_prefill({128, 2, 2, 32}, {{7, 7}, {40, 41}, {1, 65}}, 30);
}

TEST(CudaPrefillAttention, Length1000) {
  // Whole 1000-token prompt (one head: 16 row tiles), and a chunk at the end
  // of a 1000-token context with GQA 3.
  check_prefill({64, 1, 1, 16}, {{1000, 1000}}, 40);
  check_prefill({128, 1, 3, 16}, {{24, 1000}}, 41);
}

TEST(CudaPrefillAttention, RejectsBadArguments) {
  const Shape s{64, 2, 2, 16};
  const HostCache cache = make_cache(s, {5}, 50);
  DeviceCache dev(cache);
  PrefillAttentionArgs a;
  __half* dq = to_device(to_halves(make_queries(5, s, 51)));
  __half* dout = to_device(std::vector<__half>(5 * 4 * 64));
  int32_t* dindptr = to_device(std::vector<int32_t>{0, 5});
  a.q = dq;
  a.out = dout;
  a.q_indptr = dindptr;
  a.max_q_len = 5;
  a.n_heads = 4;
  a.scale = 0.125f;
  EXPECT_EQ(launch_prefill_attention(dev.kv, a, nullptr), cudaSuccess);
  auto bad = a;
  bad.n_heads = 5;
  EXPECT_EQ(launch_prefill_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.q_indptr = nullptr;
  EXPECT_EQ(launch_prefill_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.scale = NAN;
  EXPECT_EQ(launch_prefill_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  auto kv = dev.kv;
  kv.head_dim = 80;
  EXPECT_EQ(launch_prefill_attention(kv, a, nullptr), cudaErrorInvalidValue);
  kv.head_dim = 256;  // the decode kernel's row mapping runs these
  EXPECT_EQ(launch_prefill_attention(kv, a, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.window = -1;
  EXPECT_EQ(launch_prefill_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  for (void* p : {(void*)dq, (void*)dout, (void*)dindptr}) cudaFree(p);
}

// A bad block id, or more queries than cached tokens, poisons only that
// sequence's rows.
TEST(CudaPrefillAttention, InconsistentSequencesPoisonOnlyThemselves) {
  const Shape s{64, 1, 2, 16};
  HostCache cache = make_cache(s, {20, 40, 10}, 60);
  cache.indices[cache.indptr[1] + 2] = -1;              // sequence 1, logical block 2
  const std::vector<int32_t> q_indptr = {0, 4, 8, 19};  // sequence 2: 11 queries > 10 cached
  const auto q = make_queries(19, s, 61);
  const auto out = run_prefill(cache, q_indptr, q);
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (size_t i = 4 * row; i < 19 * row; ++i) ASSERT_TRUE(std::isnan(__half2float(out[i]))) << i;
  expect_matches(out, 0, dense_reference(cache, 0, q.data(), 4, 0.125f),
                 cpu_reference(cache, 0, q.data(), 4, 0.125f), "seq 0");
}

}  // namespace

namespace {

// Missing barriers (K/V tile reuse) show up under other fiber resume orders.
TEST(CudaPrefillAttention, EveryResumeOrder) {
  for (auto order : {loom::simt::Schedule::kReverse, loom::simt::Schedule::kShuffled}) {
    loom::simt::set_schedule(order, 7);
    check_prefill({64, 1, 3, 16}, {{30, 70}, {17, 17}}, 90);
  }
  loom::simt::set_schedule(loom::simt::Schedule::kForward);
}

}  // namespace

namespace {

constexpr KvCacheDtype kInt8 = KvCacheDtype::kInt8;

TEST(CudaPrefillAttentionInt8, WholePromptsAndChunks) {
  check_prefill({64, 1, 3, 16}, {{1, 1}}, 101, kInt8);
  check_prefill({64, 1, 3, 16}, {{15, 15}}, 102, kInt8);
  check_prefill({128, 2, 1, 16}, {{17, 17}}, 103, kInt8);
  check_prefill({128, 2, 1, 32}, {{15, 32}}, 110, kInt8);
  check_prefill({64, 3, 3, 16}, {{1, 77}}, 112, kInt8);
}

TEST(CudaPrefillAttentionInt8, RaggedBatch13Gqa3) {
  check_prefill({64, 1, 3, 16},
                {{1, 1}, {15, 15}, {17, 17}, {5, 40}, {16, 16}, {33, 70}, {2, 2}, {64, 64},
                 {1, 100}, {20, 21}, {9, 30}, {23, 23}, {3, 47}},
                120, kInt8);
}

TEST(CudaPrefillAttentionInt8, RaggedBatchHeadDim128BlockSize32) {
  check_prefill({128, 2, 2, 32}, {{7, 7}, {40, 41}, {1, 65}}, 130, kInt8);
}

TEST(CudaPrefillAttentionInt8, Length1000) {
  check_prefill({64, 1, 1, 16}, {{1000, 1000}}, 140, kInt8);
  check_prefill({128, 1, 3, 16}, {{24, 1000}}, 141, kInt8);
}

TEST(CudaPrefillAttentionInt8, InconsistentSequencesPoisonOnlyThemselves) {
  const Shape s{64, 1, 2, 16};
  HostCache cache = make_cache(s, {20, 40, 10}, 160, kInt8);
  cache.indices[cache.indptr[1] + 2] = -1;
  const std::vector<int32_t> q_indptr = {0, 4, 8, 19};
  const auto q = make_queries(19, s, 161);
  const auto out = run_prefill(cache, q_indptr, q);
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (size_t i = 4 * row; i < 19 * row; ++i) ASSERT_TRUE(std::isnan(__half2float(out[i]))) << i;
  expect_matches(out, 0, dense_reference(cache, 0, q.data(), 4, 0.125f),
                 cpu_reference(cache, 0, q.data(), 4, 0.125f), "seq 0");
}

TEST(CudaPrefillAttentionInt8, EveryResumeOrder) {
  for (auto order : {loom::simt::Schedule::kReverse, loom::simt::Schedule::kShuffled}) {
    loom::simt::set_schedule(order, 7);
    check_prefill({128, 1, 3, 16}, {{30, 70}, {17, 17}}, 190, kInt8);
  }
  loom::simt::set_schedule(loom::simt::Schedule::kForward);
}

}  // namespace
