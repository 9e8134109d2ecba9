// KV-cache sizing rules (backends/cpu/plugin/kv_budget.h) against numbers
// worked out by hand.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "backends/common/plugin/errors.h"
#include "backends/cpu/plugin/kv_budget.h"

using loom::cpu_plugin::KvBudgetInput;
using loom::cpu_plugin::plan_kv_cache;

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
  } catch (const loom::plugin::PluginError& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_RESOURCE_EXHAUSTED);
    const std::string m = e.what();
    EXPECT_NE(m.find("holds 10 blocks of 368640 bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("1024 tokens needs 64 blocks (23592960 bytes)"), std::string::npos) << m;
  }
  in.bytes = 9'000'000'000;
  try {
    plan_kv_cache(in);
    FAIL();
  } catch (const loom::plugin::PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the 8000000000 bytes of MemAvailable"), std::string::npos);
  }
}

TEST(KvBudget, ReadsMemAvailableInKiB) {
  const std::string path = testing::TempDir() + "/loom_meminfo";
  std::ofstream(path) << "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:    2048 kB\n";
  EXPECT_EQ(loom::cpu_plugin::mem_available_bytes(path.c_str()), 2048 * 1024);
  EXPECT_EQ(loom::cpu_plugin::mem_available_bytes("/nonexistent"), 0);
}
