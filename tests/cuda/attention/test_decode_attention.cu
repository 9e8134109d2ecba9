// Paged decode attention (kernels/cuda/attention/decode_attention.cu) under
// the SIMT emulator vs loom::cpu::ref::attention_paged and float64, over the
// fp16 cache and the int8 cache (reference: attention over the dequantized
// values q * scale, so the tolerance is the kernel's own fp32/fp16 error).
#include "kernels/cuda/attention/decode_attention.cuh"

#include <cmath>

#include "tests/cuda/attention/attention_test_util.h"

namespace {

using namespace loom::attention_test;
using loom::cuda::DecodeAttentionArgs;
using loom::cuda::launch_decode_attention;

struct DecodeRun {
  std::vector<__half> out;  // [batch][n_heads][head_dim]
  int splits = 0;
};

// Launches over `cache` with queries q ([batch][n_heads][head_dim]); the output
// and workspace start poisoned (all-ones fp16/fp32 bits: NaN).
// `device_cache` (default: cache) is what the kernel reads, e.g. with the
// blocks before a window dropped.
DecodeRun run_decode(const HostCache& cache, const std::vector<float>& q, int split_len, int window = 0,
                     const HostCache* device_cache = nullptr) {
  const Shape& s = cache.shape;
  const int batch = static_cast<int>(cache.kv_len.size());
  DeviceCache dev(device_cache ? *device_cache : cache);
  DecodeAttentionArgs a;
  a.window = window;
  a.n_heads = s.n_heads();
  a.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  a.max_kv_len = *std::max_element(cache.kv_len.begin(), cache.kv_len.end());
  a.split_len = split_len;
  __half* dq = to_device(to_halves(q));
  __half* dout = nullptr;
  const size_t n_out = q.size();
  EXPECT_EQ(cudaMalloc(&dout, n_out * sizeof(__half)), cudaSuccess);
  EXPECT_EQ(cudaMemset(dout, 0xff, n_out * sizeof(__half)), cudaSuccess);
  const size_t ws = loom::cuda::decode_attention_workspace_bytes(batch, a.n_heads, s.head_dim,
                                                                 a.max_kv_len, split_len);
  void* dws = nullptr;
  if (ws) {
    EXPECT_EQ(cudaMalloc(&dws, ws), cudaSuccess);
    EXPECT_EQ(cudaMemset(dws, 0xff, ws), cudaSuccess);
  }
  a.q = dq;
  a.out = dout;
  a.workspace = dws;
  DecodeRun run;
  run.splits = loom::cuda::decode_attention_splits(a.max_kv_len, split_len);
  EXPECT_EQ(launch_decode_attention(dev.kv, a, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  run.out = to_host(dout, n_out);
  cudaFree(dq);
  cudaFree(dout);
  if (dws) cudaFree(dws);
  return run;
}

void check_decode(const Shape& s, const std::vector<int>& lens, int split_len, unsigned seed,
                  int expect_splits, KvCacheDtype dtype = KvCacheDtype::kF16) {
  const HostCache cache = make_cache(s, lens, seed, dtype);
  const int batch = static_cast<int>(lens.size());
  const auto q = make_queries(batch, s, seed + 1);
  const DecodeRun run = run_decode(cache, q, split_len);
  EXPECT_EQ(run.splits, expect_splits);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (int b = 0; b < batch; ++b) {
    const float* qb = q.data() + b * row;
    expect_matches(run.out, b * row, dense_reference(cache, b, qb, 1, scale),
                   cpu_reference(cache, b, qb, 1, scale),
                   "seq " + std::to_string(b) + " (len " + std::to_string(lens[b]) + ")");
  }
}

TEST(CudaDecodeAttention, SingleTokenContext) {
  check_decode({64, 2, 1, 16}, {1}, 0, 1, 1);
  check_decode({128, 1, 3, 16}, {1}, 0, 2, 1);
}

TEST(CudaDecodeAttention, BlockBoundaryLengths) {
  for (int len : {15, 16, 17}) {
    SCOPED_TRACE(len);
    check_decode({128, 1, 3, 16}, {len}, 0, 10 + len, 1);
    check_decode({64, 2, 1, 32}, {len}, 8, 20 + len, (len + 7) / 8);
  }
}

const std::vector<int> kRagged13 = {1, 15, 17, 33, 64, 100, 5, 16, 31, 2, 47, 9, 200};

TEST(CudaDecodeAttention, RaggedBatch13Gqa3NoSplit) {
  check_decode({64, 3, 3, 16}, kRagged13, 0, 30, 1);
}

TEST(CudaDecodeAttention, RaggedBatch13Gqa3Split) {
  // 32-token splits: sequences use 1..7 of the 7 splits, the rest exit early.
  check_decode({64, 3, 3, 16}, kRagged13, 32, 31, 7);
}

TEST(CudaDecodeAttention, RaggedBatch13HeadDim128Group8Split) {
  check_decode({128, 1, 8, 32}, kRagged13, 48, 32, 5);
}

TEST(CudaDecodeAttention, LongContextSplitAndNot) {
  check_decode({128, 1, 3, 16}, {1000}, 0, 40, 1);
  check_decode({128, 1, 3, 16}, {1000}, 128, 41, 8);
  check_decode({64, 1, 1, 32}, {1000, 999, 3}, 256, 42, 4);
}

// Gemma 3's shape: head_dim 256, one KV head, group 4.
TEST(CudaDecodeAttention, HeadDim256Group4SplitAndNot) {
  check_decode({256, 1, 4, 16}, {1, 17, 300}, 0, 60, 1);
  check_decode({256, 1, 4, 16}, {1, 17, 300}, 64, 61, 5);
  check_decode({256, 2, 2, 32}, {40, 3}, 0, 62, 1, KvCacheDtype::kInt8);
}

// Sliding window: the query at position p sees [p - window + 1, p]. The
// blocks wholly before every window are dropped (-1) in the kernel's copy of
// the tables, so reading one would poison the output; splits wholly before
// the window are skipped by both kernels.
void check_decode_window(const Shape& s, const std::vector<int>& lens, int window, int split_len,
                         unsigned seed, KvCacheDtype dtype = KvCacheDtype::kF16) {
  SCOPED_TRACE(testing::Message() << "window " << window << " split " << split_len);
  const HostCache cache = make_cache(s, lens, seed, dtype);
  std::vector<int> first;
  for (int len : lens) first.push_back(window_lo(len - 1, window));
  const HostCache dropped = drop_blocks_before(cache, first);
  const int batch = static_cast<int>(lens.size());
  const auto q = make_queries(batch, s, seed + 1);
  const DecodeRun run = run_decode(cache, q, split_len, window, &dropped);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (int b = 0; b < batch; ++b) {
    const float* qb = q.data() + b * row;
    expect_matches(run.out, b * row, dense_reference(cache, b, qb, 1, scale, window),
                   cpu_reference(cache, b, qb, 1, scale, window),
                   "seq " + std::to_string(b) + " (len " + std::to_string(lens[b]) + ")");
  }
}

TEST(CudaDecodeAttention, SlidingWindow) {
  const std::vector<int> lens = {1, 20, 40, 41, 100, 333};
  check_decode_window({64, 1, 2, 16}, lens, 40, 0, 70);
  check_decode_window({64, 1, 2, 16}, lens, 40, 32, 71);
  check_decode_window({256, 1, 4, 16}, lens, 64, 48, 72);
  check_decode_window({128, 2, 2, 16}, lens, 33, 64, 73, KvCacheDtype::kInt8);
}

// Row mapping: every query row of a prefill chunk as its own launch row
// (row_seq / row_pos), against the chunk's float64 attention; with and
// without a window, split and not.
void check_decode_rows(const Shape& s, const std::vector<int>& lens, const std::vector<int>& n_q, int window,
                       int split_len, unsigned seed) {
  SCOPED_TRACE(testing::Message() << "rows, window " << window << " split " << split_len);
  const HostCache cache = make_cache(s, lens, seed);
  std::vector<int32_t> row_seq, row_pos, first_row;
  std::vector<int> first;
  for (size_t b = 0; b < lens.size(); ++b) {
    first_row.push_back(static_cast<int32_t>(row_seq.size()));
    for (int i = 0; i < n_q[b]; ++i) {
      row_seq.push_back(static_cast<int32_t>(b));
      row_pos.push_back(lens[b] - n_q[b] + i);
    }
    first.push_back(window_lo(lens[b] - n_q[b], window));
  }
  const HostCache dropped = drop_blocks_before(cache, first);
  const int rows = static_cast<int>(row_seq.size());
  const auto q = make_queries(rows, s, seed + 1);
  DeviceCache dev(dropped);
  dev.kv.batch = rows;
  DecodeAttentionArgs a;
  a.n_heads = s.n_heads();
  a.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  a.max_kv_len = *std::max_element(lens.begin(), lens.end());
  a.split_len = split_len;
  a.window = window;
  int32_t* d_seq = to_device(row_seq);
  int32_t* d_pos = to_device(row_pos);
  a.row_seq = d_seq;
  a.row_pos = d_pos;
  a.n_table_seqs = static_cast<int32_t>(lens.size());
  __half* dq = to_device(to_halves(q));
  std::vector<__half> poison(q.size(), __ushort_as_half(kHalfNan));
  __half* dout = to_device(poison);
  const size_t ws = loom::cuda::decode_attention_workspace_bytes(rows, a.n_heads, s.head_dim, a.max_kv_len,
                                                                 split_len);
  void* dws = nullptr;
  if (ws) EXPECT_EQ(cudaMalloc(&dws, ws), cudaSuccess);
  a.q = dq;
  a.out = dout;
  a.workspace = dws;
  ASSERT_EQ(launch_decode_attention(dev.kv, a, nullptr), cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto out = to_host(dout, q.size());
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (size_t b = 0; b < lens.size(); ++b) {
    const float* qb = q.data() + first_row[b] * row;
    expect_matches(out, first_row[b] * row, dense_reference(cache, b, qb, n_q[b], a.scale, window),
                   cpu_reference(cache, b, qb, n_q[b], a.scale, window), "seq " + std::to_string(b));
  }
  cudaFree(d_seq);
  cudaFree(d_pos);
  cudaFree(dq);
  cudaFree(dout);
  if (dws) cudaFree(dws);
}

TEST(CudaDecodeAttention, RowMappedPrefillChunks) {
  check_decode_rows({256, 1, 4, 16}, {7, 50}, {7, 20}, 0, 0, 80);
  check_decode_rows({256, 1, 4, 16}, {7, 90}, {3, 30}, 24, 32, 81);
  check_decode_rows({64, 2, 2, 16}, {33, 5}, {9, 5}, 16, 0, 82);
}

TEST(CudaDecodeAttention, RejectsBadArguments) {
  const Shape s{64, 2, 2, 16};
  const HostCache cache = make_cache(s, {5}, 50);
  DeviceCache dev(cache);
  __half* dq = to_device(to_halves(make_queries(1, s, 51)));
  __half* dout = to_device(std::vector<__half>(4 * 64));
  DecodeAttentionArgs a;
  a.q = dq;
  a.out = dout;
  a.n_heads = 4;
  a.scale = 0.125f;
  a.max_kv_len = 5;
  EXPECT_EQ(launch_decode_attention(dev.kv, a, nullptr), cudaSuccess);
  auto bad = a;
  bad.n_heads = 3;  // not a multiple of n_kv_heads
  EXPECT_EQ(launch_decode_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.n_heads = 2 * 9;  // GQA group 9 > 8
  EXPECT_EQ(launch_decode_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.split_len = 2;  // splits need a workspace
  EXPECT_EQ(launch_decode_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.window = -1;
  EXPECT_EQ(launch_decode_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  bad = a;
  bad.row_seq = dev.kv.kv_len;  // row_seq without row_pos
  EXPECT_EQ(launch_decode_attention(dev.kv, bad, nullptr), cudaErrorInvalidValue);
  auto kv = dev.kv;
  kv.head_dim = 96;
  EXPECT_EQ(launch_decode_attention(kv, a, nullptr), cudaErrorInvalidValue);
  kv = dev.kv;
  kv.block_indices = nullptr;
  EXPECT_EQ(launch_decode_attention(kv, a, nullptr), cudaErrorInvalidValue);
  cudaFree(dq);
  cudaFree(dout);
}

// A block id outside the pool poisons only its own sequence (NaN), never
// reads out of bounds; the host validator names it.
TEST(CudaDecodeAttention, BadBlockIdPoisonsOnlyItsSequence) {
  const Shape s{64, 1, 2, 16};
  HostCache cache = make_cache(s, {40, 20, 33}, 60);
  cache.indices[cache.indptr[1] + 1] = cache.num_blocks + 100;  // sequence 1, logical block 1
  const std::string msg = loom::cuda::validate_paged_kv_tables(
      DeviceCache(cache).kv, cache.indptr.data(), cache.indices.data(), cache.kv_len.data());
  EXPECT_NE(msg.find("sequence 1"), std::string::npos) << msg;
  const auto q = make_queries(3, s, 61);
  const float scale = 0.125f;
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (int split_len : {0, 16}) {
    const DecodeRun run = run_decode(cache, q, split_len);
    for (size_t i = row; i < 2 * row; ++i)
      ASSERT_TRUE(std::isnan(__half2float(run.out[i]))) << "split " << split_len << " i " << i;
    for (int b : {0, 2}) {
      const float* qb = q.data() + b * row;
      expect_matches(run.out, b * row, dense_reference(cache, b, qb, 1, scale),
                     cpu_reference(cache, b, qb, 1, scale), "seq " + std::to_string(b));
    }
  }
}

TEST(CudaDecodeAttention, KvLenBeyondBlocksPoisons) {
  const Shape s{64, 1, 1, 16};
  HostCache cache = make_cache(s, {16, 10}, 70);
  cache.kv_len[0] = 17;  // one block only covers 16 tokens
  EXPECT_NE(loom::cuda::validate_paged_kv_tables(DeviceCache(cache).kv, cache.indptr.data(),
                                                 cache.indices.data(), cache.kv_len.data()),
            "");
  const DecodeRun run = run_decode(cache, make_queries(2, s, 71), 0);
  for (int d = 0; d < 64; ++d) ASSERT_TRUE(std::isnan(__half2float(run.out[d])));
  for (int d = 64; d < 128; ++d) ASSERT_TRUE(std::isfinite(__half2float(run.out[d])));
}

TEST(CudaDecodeAttention, DefaultSplitLen) {
  // Short contexts stay whole; long ones split into >= 256-token pieces.
  EXPECT_EQ(loom::cuda::decode_attention_default_split_len(64, 8, 300, 132), 0);
  const int32_t len = loom::cuda::decode_attention_default_split_len(1, 1, 8192, 132);
  EXPECT_GE(len, 256);
  EXPECT_EQ(loom::cuda::decode_attention_splits(8192, len), 8192 / 256);
}

}  // namespace

namespace {

// Missing barriers or warp syncs show up under other fiber resume orders.
TEST(CudaDecodeAttention, EveryResumeOrder) {
  for (auto order : {loom::simt::Schedule::kReverse, loom::simt::Schedule::kShuffled}) {
    loom::simt::set_schedule(order, 7);
    check_decode({64, 3, 3, 16}, {1, 17, 90}, 32, 80, 3);
  }
  loom::simt::set_schedule(loom::simt::Schedule::kForward);
}

}  // namespace

namespace {

constexpr KvCacheDtype kInt8 = KvCacheDtype::kInt8;

TEST(CudaDecodeAttentionInt8, SingleTokenAndBlockBoundaries) {
  check_decode({64, 2, 1, 16}, {1}, 0, 101, 1, kInt8);
  check_decode({128, 1, 3, 16}, {1}, 0, 102, 1, kInt8);
  for (int len : {15, 16, 17}) {
    SCOPED_TRACE(len);
    check_decode({128, 1, 3, 16}, {len}, 0, 110 + len, 1, kInt8);
    check_decode({64, 2, 1, 32}, {len}, 8, 120 + len, (len + 7) / 8, kInt8);
  }
}

TEST(CudaDecodeAttentionInt8, RaggedBatch13Gqa3SplitAndNot) {
  check_decode({64, 3, 3, 16}, kRagged13, 0, 130, 1, kInt8);
  check_decode({64, 3, 3, 16}, kRagged13, 32, 131, 7, kInt8);
}

TEST(CudaDecodeAttentionInt8, RaggedBatch13HeadDim128Group8Split) {
  check_decode({128, 1, 8, 32}, kRagged13, 48, 132, 5, kInt8);
}

TEST(CudaDecodeAttentionInt8, LongContextSplitAndNot) {
  check_decode({128, 1, 3, 16}, {1000}, 0, 140, 1, kInt8);
  check_decode({128, 1, 3, 16}, {1000}, 128, 141, 8, kInt8);
  check_decode({64, 1, 1, 32}, {1000, 999, 3}, 256, 142, 4, kInt8);
}

TEST(CudaDecodeAttentionInt8, BadBlockIdPoisonsOnlyItsSequence) {
  const Shape s{64, 1, 2, 16};
  HostCache cache = make_cache(s, {40, 20, 33}, 160, kInt8);
  cache.indices[cache.indptr[1] + 1] = cache.num_blocks + 100;
  const auto q = make_queries(3, s, 161);
  const size_t row = static_cast<size_t>(s.n_heads()) * s.head_dim;
  for (int split_len : {0, 16}) {
    const DecodeRun run = run_decode(cache, q, split_len);
    for (size_t i = row; i < 2 * row; ++i)
      ASSERT_TRUE(std::isnan(__half2float(run.out[i]))) << "split " << split_len << " i " << i;
    for (int b : {0, 2}) {
      const float* qb = q.data() + b * row;
      expect_matches(run.out, b * row, dense_reference(cache, b, qb, 1, 0.125f),
                     cpu_reference(cache, b, qb, 1, 0.125f), "seq " + std::to_string(b));
    }
  }
}

TEST(CudaDecodeAttentionInt8, RejectsMissingScales) {
  const Shape s{64, 1, 1, 16};
  const HostCache cache = make_cache(s, {5}, 170, kInt8);
  DeviceCache dev(cache);
  __half* dq = to_device(to_halves(make_queries(1, s, 171)));
  __half* dout = to_device(std::vector<__half>(64));
  DecodeAttentionArgs a;
  a.q = dq;
  a.out = dout;
  a.n_heads = 1;
  a.scale = 0.125f;
  a.max_kv_len = 5;
  EXPECT_EQ(launch_decode_attention(dev.kv, a, nullptr), cudaSuccess);
  auto kv = dev.kv;
  kv.v_scale = nullptr;
  EXPECT_EQ(launch_decode_attention(kv, a, nullptr), cudaErrorInvalidValue);
  kv = dev.kv;
  kv.dtype = KvCacheDtype::kF16;  // fp16 pools missing
  EXPECT_EQ(launch_decode_attention(kv, a, nullptr), cudaErrorInvalidValue);
  cudaFree(dq);
  cudaFree(dout);
}

TEST(CudaDecodeAttentionInt8, EveryResumeOrder) {
  for (auto order : {loom::simt::Schedule::kReverse, loom::simt::Schedule::kShuffled}) {
    loom::simt::set_schedule(order, 7);
    check_decode({128, 3, 3, 16}, {1, 17, 90}, 32, 180, 3, kInt8);
  }
  loom::simt::set_schedule(loom::simt::Schedule::kForward);
}

}  // namespace
