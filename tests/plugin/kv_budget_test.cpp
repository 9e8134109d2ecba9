// KV-cache sizing rules (backends/common/model/kv_budget.h) against numbers
// worked out by hand.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "backends/common/plugin/config.h"
#include "backends/common/plugin/errors.h"
#include "backends/cpu/kv_cache.h"
#include "backends/common/model/kv_budget.h"

using loom::KvBudgetInput;
using loom::plan_kv_cache;

namespace {

// SmolLM2-135M: 30 layers x 3 KV heads x 64 dims x fp16 x (K + V) x 16 tokens.
constexpr size_t kBlockBytes = 30 * 3 * 64 * 2 * 2 * 16;  // 368640

KvBudgetInput smol(int64_t mem_available) {
  KvBudgetInput in;
  in.mem_available = mem_available;
  in.weight_bytes = 100'000'000;
  in.bytes_per_block = kBlockBytes;
  in.block_size = 16;
  in.max_context = 1024;  // 64 blocks per sequence
  in.max_num_seqs = 4;
  return in;
}

}  // namespace

TEST(KvBudget, BytesGiveWholeBlocks) {
  auto in = smol(8'000'000'000);
  in.bytes = 100 * kBlockBytes + 5;
  const auto kv = plan_kv_cache(in);
  EXPECT_EQ(kv.blocks, 100);
  EXPECT_EQ(kv.kv_bytes, static_cast<int64_t>(100 * kBlockBytes));
  EXPECT_FALSE(kv.capped);
}

TEST(KvBudget, FractionOfFreeMemoryAfterWeights) {
  auto in = smol(100'000'000 + 200 * static_cast<int64_t>(kBlockBytes));
  in.fraction = 0.5;  // half of 200 blocks' worth
  EXPECT_EQ(plan_kv_cache(in).blocks, 100);
  in.bytes = 80 * kBlockBytes;  // both keys: the smaller wins
  EXPECT_EQ(plan_kv_cache(in).blocks, 80);
  EXPECT_EQ(plan_kv_cache(in).source, "kv_cache_bytes");
}

TEST(KvBudget, CappedAtMaxNumSeqsFullContexts) {
  auto in = smol(8'000'000'000);
  in.bytes = 1000 * kBlockBytes;
  const auto kv = plan_kv_cache(in);
  EXPECT_EQ(kv.blocks, 4 * 64);
  EXPECT_TRUE(kv.capped);
}

TEST(KvBudget, ImpossibleBudgetShowsTheNumbers) {
  auto in = smol(8'000'000'000);
  in.bytes = 10 * kBlockBytes;
  try {
    plan_kv_cache(in);
    FAIL();
  } catch (const loom::KvBudgetError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("holds 10 blocks of 368640 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("1024 tokens needs 64 blocks (23592960 bytes)"), std::string::npos) << m;
  }
  in.bytes = 9'000'000'000;
  try {
    plan_kv_cache(in);
    FAIL();
  } catch (const loom::KvBudgetError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the 8000000000 bytes of MemAvailable"), std::string::npos);
  }
}

TEST(KvBudget, ReadsMemAvailableInKiB) {
  const std::string path = testing::TempDir() + "/loom_meminfo";
  std::ofstream(path) << "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048 kB\n";
  EXPECT_EQ(loom::mem_available_bytes(path.c_str()), 2048 * 1024);
  EXPECT_EQ(loom::mem_available_bytes("/nonexistent"), 0);
}

// The int8 KV cache (kv_cache_dtype "int8"): per token, layer and KV head,
// head_dim int8 values + one fp32 scale for K and for V.
namespace {

loom::ModelConfig smol_geometry() {
  loom::ModelConfig c;
  c.n_layers = 30;
  c.n_kv_heads = 3;
  c.head_dim = 64;
  return c;
}

constexpr size_t kInt8BlockBytes = 30 * 3 * (64 + 4) * 2 * 16;  // 195840

}  // namespace

TEST(KvBudget, BytesPerBlockFollowsTheDtype) {
  using loom::CpuKvCache;
  using loom::KvCacheDtype;
  EXPECT_EQ(CpuKvCache::bytes_per_block(smol_geometry(), 16, KvCacheDtype::kFp16), kBlockBytes);
  EXPECT_EQ(CpuKvCache::bytes_per_block(smol_geometry(), 16, KvCacheDtype::kInt8), kInt8BlockBytes);
  // What is allocated is what was planned for.
  loom::ModelConfig c = smol_geometry();
  EXPECT_EQ(CpuKvCache(c, 3, 16, KvCacheDtype::kInt8).bytes(), 3 * kInt8BlockBytes);
  EXPECT_EQ(CpuKvCache(c, 3, 16, KvCacheDtype::kFp16).bytes(), 3 * kBlockBytes);
}

TEST(KvBudget, Int8HoldsAbout1Point9TimesTheTokens) {
  auto in = smol(8'000'000'000);
  in.max_num_seqs = 100;  // no cap
  in.bytes = 100 * kBlockBytes;
  const auto fp16 = plan_kv_cache(in);
  in.bytes_per_block = loom::CpuKvCache::bytes_per_block(smol_geometry(), 16, loom::KvCacheDtype::kInt8);
  const auto int8 = plan_kv_cache(in);
  EXPECT_EQ(fp16.blocks, 100);
  EXPECT_EQ(int8.blocks, 188);  // 36864000 / 195840 = 188.2
  EXPECT_LE(int8.kv_bytes, *in.bytes);
  EXPECT_NEAR(static_cast<double>(int8.blocks) / fp16.blocks, 2.0 * 64 / (64 + 4), 0.01);  // 1.88
}

TEST(KvBudget, KvCacheDtypeKeyIsValidated) {
  using loom::plugin::parse_config;
  EXPECT_EQ(parse_config(R"({"model": "m"})", {}).kv_cache_dtype, "fp16");
  EXPECT_EQ(parse_config(R"({"model": "m", "kv_cache_dtype": "int8"})", {}).kv_cache_dtype, "int8");
  EXPECT_EQ(parse_config(R"({"model": "m", "kv_cache_dtype": "fp16"})", {}).kv_cache_dtype, "fp16");
  for (const char* bad : {R"({"model": "m", "kv_cache_dtype": "fp8"})", R"({"model": "m", "kv_cache_dtype": "INT8"})",
                          R"({"model": "m", "kv_cache_dtype": 8})"}) {
    try {
      parse_config(bad, {});
      ADD_FAILURE() << bad;
    } catch (const loom::plugin::PluginError& e) {
      EXPECT_EQ(e.code(), LOOM_ERR_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find("'kv_cache_dtype'"), std::string::npos) << e.what();
    }
  }
  try {
    parse_config(R"({"model": "m", "kv_cache_dtype": "fp8"})", {});
  } catch (const loom::plugin::PluginError& e) {
    EXPECT_NE(std::string(e.what()).find(R"("fp16" or "int8")"), std::string::npos) << e.what();
  }
}

TEST(KvBudget, Int8CopyOnWriteCopiesValuesAndScales) {
  using loom::KvCacheDtype;
  loom::ModelConfig c = smol_geometry();
  c.n_layers = 2;
  loom::CpuKvCache kv(c, 5, 16, KvCacheDtype::kInt8);
  EXPECT_THROW(kv.layer(0), loom::ModelError);  // fp16 view of an int8 cache
  const size_t block_elems = 16 * 3 * 64, block_slots = 16 * 3;
  for (int l = 0; l < 2; ++l) {
    auto L = kv.layer_int8(l);
    for (size_t i = 0; i < block_elems; ++i) {
      L.k[block_elems + i] = static_cast<int8_t>(i % 251 - 125 + l);
      L.v[block_elems + i] = static_cast<int8_t>(125 - i % 251 + l);
    }
    for (size_t i = 0; i < block_slots; ++i) {
      L.k_scale[block_slots + i] = 0.5f + i + l;
      L.v_scale[block_slots + i] = 0.25f + i + l;
    }
  }
  kv.copy_block(1, 4);
  for (int l = 0; l < 2; ++l) {
    auto L = kv.layer_int8(l);
    for (size_t i = 0; i < block_elems; ++i) {
      ASSERT_EQ(L.k[4 * block_elems + i], L.k[block_elems + i]);
      ASSERT_EQ(L.v[4 * block_elems + i], L.v[block_elems + i]);
      ASSERT_EQ(L.k[3 * block_elems + i], 0);  // neighbours untouched
    }
    for (size_t i = 0; i < block_slots; ++i) {
      ASSERT_EQ(L.k_scale[4 * block_slots + i], 0.5f + i + l);
      ASSERT_EQ(L.v_scale[4 * block_slots + i], 0.25f + i + l);
      ASSERT_EQ(L.k_scale[3 * block_slots + i], 0.0f);
    }
  }
  EXPECT_THROW(kv.copy_block(1, 5), loom::ModelError);
}

// Gemma 3 270M's cache geometry: 18 layers, every 6th global, one KV head of 256.
loom::ModelConfig gemma_geometry() {
  loom::ModelConfig c;
  c.n_layers = 18;
  c.n_kv_heads = 1;
  c.head_dim = 256;
  c.sliding_window = 512;
  c.layer_is_sliding.assign(18, 1);
  for (int l = 5; l < 18; l += 6) c.layer_is_sliding[l] = 0;
  return c;
}

TEST(KvBudget, WindowPoolHoldsTheSlidingLayersOnly) {
  using loom::CpuKvCache;
  const loom::ModelConfig c = gemma_geometry();
  // fp16, 16 tokens: 18 layers x 2 x 16 x 256 x 2 bytes; 15 of them sliding.
  EXPECT_EQ(CpuKvCache::bytes_per_block(c, 16), 18u * 16384);
  EXPECT_EQ(CpuKvCache::window_bytes_per_block(c, 16), 15u * 16384);
  CpuKvCache kv(c, 10, 16, loom::KvCacheDtype::kFp16, 4);
  EXPECT_EQ(kv.bytes(), 3u * 10 * 16384 + 15u * 4 * 16384);
  EXPECT_TRUE(kv.in_window_pool(0));
  EXPECT_FALSE(kv.in_window_pool(5));
  EXPECT_EQ(kv.layer(0).num_blocks, 4);
  EXPECT_EQ(kv.layer(5).num_blocks, 10);
  // A window copy moves the sliding layers' block, never a global layer's.
  const size_t block = 16 * 256;
  kv.layer(0).k[1 * block] = 0x3C00;  // window block 1 of a sliding layer
  kv.layer(5).k[1 * block] = 0x4000;  // block 1 of a global layer
  kv.copy_block(1, 3, /*window=*/true);
  EXPECT_EQ(kv.layer(0).k[3 * block], 0x3C00);
  EXPECT_EQ(kv.layer(5).k[3 * block], 0);
  kv.copy_block(1, 2);
  EXPECT_EQ(kv.layer(5).k[2 * block], 0x4000);
  EXPECT_EQ(kv.layer(0).k[2 * block], 0);
  EXPECT_THROW(kv.copy_block(1, 4, true), loom::ModelError);  // the window pool has 4 blocks
  EXPECT_THROW(CpuKvCache(smol_geometry(), 10, 16, loom::KvCacheDtype::kFp16, 4), loom::ModelError);
}

// The split: budget for a window per sequence first, the rest for the
// global layers; taken only when it holds at least as many contexts.
TEST(KvBudget, WindowSplitPaysForLongContextsOnly) {
  const size_t all = 18 * 16384, window = 15 * 16384, global = 3 * 16384;
  loom::KvBudget plain;
  plain.budget_bytes = 1000 * int64_t{all};
  plain.blocks = 1000;
  plain.kv_bytes = plain.budget_bytes;
  loom::KvWindowSplitInput in{plain, all, window, 200, 100000};
  loom::KvWindowSplit s = loom::split_kv_for_window(in);
  ASSERT_TRUE(s.use);
  EXPECT_EQ(s.window_blocks, 200);
  EXPECT_EQ(s.blocks, (1000 * all - 200 * window) / global);  // 5000: 5x the contexts
  EXPECT_LE(s.kv_bytes, plain.budget_bytes);
  // Capped at max_num_seqs full contexts: the same blocks in fewer bytes.
  in.max_blocks = 1000;
  s = loom::split_kv_for_window(in);
  ASSERT_TRUE(s.use);
  EXPECT_EQ(s.blocks, 1000);
  EXPECT_EQ(s.kv_bytes, 1000 * int64_t{global} + 200 * int64_t{window});
  // Windows for every sequence cost more than they free: no split.
  in.max_blocks = 100000;
  in.window_blocks = 1001;  // 1001 x 15 + 995 x 3 layers: fewer than the plain 1000 x 18
  EXPECT_FALSE(loom::split_kv_for_window(in).use);
  in.window_blocks = 2000;  // more than the whole budget
  EXPECT_FALSE(loom::split_kv_for_window(in).use);
  in.window_blocks = 200;
  in.window_bytes_per_block = 0;  // no sliding layers
  EXPECT_FALSE(loom::split_kv_for_window(in).use);
}
