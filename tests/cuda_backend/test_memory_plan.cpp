// The start-up memory split (backends/cuda/memory_plan.h), checked against
// hand-computed numbers.
#include <gtest/gtest.h>

#include "backends/common/model/model_config.h"
#include "backends/cuda/memory_plan.h"

namespace loom::cuda_backend {
namespace {

MemoryPlanInput input() {
  MemoryPlanInput in;
  in.total = int64_t{8} << 30;
  in.free_after_fixed = int64_t{1} << 30;  // 1 GiB
  in.graph_reserve = int64_t{24} << 20;    // 1000 MiB left
  in.kv_cache_fraction = 0.5;              // 500 MiB
  in.bytes_per_block = size_t{1} << 20;    // 1 MiB
  in.block_size = 16;
  in.max_context = 1024;                   // 64 blocks per sequence
  in.max_num_seqs = 100;
  return in;
}

constexpr int64_t kMiB = int64_t{1} << 20;

TEST(CudaMemoryPlan, FractionOfWhatIsLeftMinusThePaddingBlock) {
  const MemoryPlan p = plan_memory(input());
  EXPECT_EQ(p.available, 1000 * kMiB);
  EXPECT_EQ(p.budget, 500 * kMiB);
  EXPECT_EQ(p.blocks, 499);  // 500 MiB / 1 MiB, one of them the graph padding block
  EXPECT_EQ(p.kv_bytes, 500 * kMiB);
  EXPECT_FALSE(p.capped);
  EXPECT_NE(p.report.find("kv cache 524288000 B"), std::string::npos) << p.report;
}

TEST(CudaMemoryPlan, NeitherKeyTakesNinetyPercent) {
  MemoryPlanInput in = input();
  in.kv_cache_fraction.reset();
  const MemoryPlan p = plan_memory(in);
  EXPECT_EQ(p.budget, 900 * kMiB);  // 0.9 * 1000 MiB
  EXPECT_EQ(p.blocks, 899);
}

TEST(CudaMemoryPlan, CappedAtMaxNumSeqsFullContexts) {
  MemoryPlanInput in = input();
  in.max_num_seqs = 2;
  const MemoryPlan p = plan_memory(in);
  EXPECT_EQ(p.blocks, 128);
  EXPECT_TRUE(p.capped);
}

TEST(CudaMemoryPlan, BytesAloneAreTheBudget) {
  MemoryPlanInput in = input();
  in.kv_cache_fraction.reset();
  in.kv_cache_bytes = 300 * kMiB + 12345;  // 300 whole blocks, one of them padding
  const MemoryPlan p = plan_memory(in);
  EXPECT_EQ(p.budget, 300 * kMiB + 12345);
  EXPECT_EQ(p.blocks, 299);
  EXPECT_EQ(p.kv_bytes, 300 * kMiB);
  EXPECT_NE(p.report.find("(kv_cache_bytes 314585145)"), std::string::npos) << p.report;
  in.kv_cache_bytes = 1000 * kMiB;  // all that is free for KV: still fits
  EXPECT_EQ(plan_memory(in).blocks, 999);
}

TEST(CudaMemoryPlan, BytesAloneAboveWhatIsFreeIsAKvBudgetErrorWithTheNumbers) {
  MemoryPlanInput in = input();
  in.kv_cache_fraction.reset();
  in.kv_cache_bytes = 1000 * kMiB + 1;
  try {
    plan_memory(in);
    FAIL() << "expected KvBudgetError";
  } catch (const KvBudgetError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("kv_cache_bytes 1048576001 B"), std::string::npos) << msg;
    EXPECT_NE(msg.find("exceeds the 1048576000 B"), std::string::npos) << msg;
    EXPECT_NE(msg.find("graph reserve 25165824 B"), std::string::npos) << msg;
  }
}

TEST(CudaMemoryPlan, BothKeysTakeTheSmallerBudget) {
  MemoryPlanInput in = input();  // fraction 0.5 of 1000 MiB = 500 MiB
  in.kv_cache_bytes = 300 * kMiB;
  MemoryPlan p = plan_memory(in);
  EXPECT_EQ(p.budget, 300 * kMiB);
  EXPECT_EQ(p.blocks, 299);
  EXPECT_NE(p.report.find("kv_cache_bytes 314572800 (< kv_cache_fraction 0.500000"), std::string::npos)
      << p.report;
  in.kv_cache_bytes = 800 * kMiB;
  p = plan_memory(in);
  EXPECT_EQ(p.budget, 500 * kMiB);
  EXPECT_EQ(p.blocks, 499);
  EXPECT_NE(p.report.find("(< kv_cache_bytes 838860800)"), std::string::npos) << p.report;
  in.kv_cache_bytes = 5000 * kMiB;  // more than is free, but the fraction is smaller: no error
  EXPECT_EQ(plan_memory(in).blocks, 499);
}

TEST(CudaMemoryPlan, BadKeysArePlainModelErrors) {
  MemoryPlanInput in = input();
  in.kv_cache_bytes = -1;
  try {
    plan_memory(in);
    FAIL() << "expected ModelError";
  } catch (const KvBudgetError& e) {
    FAIL() << "a bad key is not a budget problem: " << e.what();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("kv_cache_bytes must be > 0"), std::string::npos) << e.what();
  }
  in = input();
  in.kv_cache_fraction = 1.5;
  try {
    plan_memory(in);
    FAIL() << "expected ModelError";
  } catch (const KvBudgetError& e) {
    FAIL() << "a bad key is not a budget problem: " << e.what();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("kv_cache_fraction must be in (0, 1], got 1.5"), std::string::npos)
        << e.what();
  }
}

TEST(CudaMemoryPlan, ExplicitBlocksOverrideTheFraction) {
  MemoryPlanInput in = input();
  in.kv_blocks = 900;
  in.kv_cache_bytes = 100 * kMiB;  // overridden too
  EXPECT_EQ(plan_memory(in).blocks, 900);
  in.kv_blocks = 1000;  // + padding block = 1001 MiB > 1000 MiB available
  EXPECT_THROW(plan_memory(in), KvBudgetError);
}

TEST(CudaMemoryPlan, ImpossibleBudgetShowsTheNumbers) {
  MemoryPlanInput in = input();
  in.kv_cache_fraction = 0.05;  // 50 MiB: 49 blocks < 64 for one sequence
  try {
    plan_memory(in);
    FAIL() << "expected KvBudgetError";
  } catch (const KvBudgetError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("49 blocks"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs 64"), std::string::npos) << msg;
    EXPECT_NE(msg.find("free for KV 1048576000 B"), std::string::npos) << msg;
  }
}

// SmolLM2-135M's KV shape: 30 layers, 3 KV heads, head_dim 64, 16-token blocks.
TEST(CudaMemoryPlan, BytesPerBlockByDtype) {
  EXPECT_EQ(kv_cache_bytes_per_block(30, 3, 64, 16, false), size_t{30} * 2 * 16 * 3 * 64 * 2);  // 368640
  EXPECT_EQ(kv_cache_bytes_per_block(30, 3, 64, 16, true), size_t{30} * 2 * 16 * 3 * (64 + 4));  // 195840
  EXPECT_EQ(kv_cache_bytes_per_block(32, 8, 128, 32, true), size_t{32} * 2 * 32 * 8 * (128 + 4));
}

TEST(CudaMemoryPlan, Int8CacheHoldsAbout1p88xTheBlocks) {
  MemoryPlanInput in = input();  // a 500 MiB budget
  in.bytes_per_block = kv_cache_bytes_per_block(30, 3, 64, 16, false);
  const MemoryPlan f16 = plan_memory(in);
  in.bytes_per_block = kv_cache_bytes_per_block(30, 3, 64, 16, true);
  in.kv_int8 = true;
  const MemoryPlan i8 = plan_memory(in);
  EXPECT_EQ(f16.blocks, 524288000 / 368640 - 1);  // 1421
  EXPECT_EQ(i8.blocks, 524288000 / 195840 - 1);   // 2676
  const double ratio = static_cast<double>(i8.blocks) / f16.blocks;
  EXPECT_NEAR(ratio, 2.0 * 64 / (64 + 4), 0.01) << ratio;  // 1.882
  EXPECT_NE(i8.report.find("int8 + fp32 scales"), std::string::npos) << i8.report;
  EXPECT_NE(f16.report.find(" fp16 = "), std::string::npos) << f16.report;
}

// Gemma 3 270M's shape: 15 of 18 layers slide, so a block's sliding share
// is 15/18 of it. 1 MiB blocks over 18 layers -> 0.8333 MiB window share.
MemoryPlanInput windowed() {
  MemoryPlanInput in = input();  // 500 MiB budget, 1 MiB blocks, 64 blocks per sequence
  in.bytes_per_block = size_t{18} << 16;   // 18 layers x 64 KiB
  in.window_bytes_per_block = size_t{15} << 16;
  in.window_blocks = 40;
  return in;
}

TEST(CudaMemoryPlan, WindowPoolSplitsTheSameBudgetWithAPaddingBlockEach) {
  const MemoryPlanInput in = windowed();
  const MemoryPlan p = plan_memory(in);
  // By hand: budget 500 MiB = 8000 blocks of 64 KiB units; one pool: 8000/18 - 1 = 443 blocks.
  // Split: the two padding blocks (3 + 15 units) and 40 window blocks of 15 units leave
  // 8000 - 18 - 600 = 7382 units: 2460 full blocks of 3, under the cap of 6400.
  EXPECT_EQ(p.window_blocks, 40);
  EXPECT_EQ(p.blocks, 2460);
  EXPECT_EQ(p.kv_bytes, (int64_t{2461} * 3 + int64_t{41} * 15) << 16);
  EXPECT_LE(p.kv_bytes, p.budget);
  EXPECT_NE(p.report.find("2460+1 blocks"), std::string::npos) << p.report;
  EXPECT_NE(p.report.find("40+1 blocks"), std::string::npos) << p.report;
  EXPECT_NE(p.report.find("sliding-window layers' pool"), std::string::npos) << p.report;
}

TEST(CudaMemoryPlan, WindowPoolWithExplicitBlocksRedividesTheirBytes) {
  MemoryPlanInput in = windowed();
  in.kv_blocks = 100;  // 101 one-pool blocks = 1818 units
  in.max_num_seqs = 2;  // cap 128 full blocks
  const MemoryPlan p = plan_memory(in);
  // 1818 - 18 (padding) - 40 * 15 = 1200 units -> 400 full blocks, capped at 128.
  EXPECT_EQ(p.window_blocks, 40);
  EXPECT_EQ(p.blocks, 128);
  EXPECT_EQ(p.kv_bytes, (int64_t{129} * 3 + int64_t{41} * 15) << 16);
}

TEST(CudaMemoryPlan, NoWindowPoolWhenItDoesNotPay) {
  MemoryPlanInput in = windowed();
  in.kv_cache_fraction = 0.08;  // 80 MiB = 1280 units: one pool 1280 / 18 - 1 = 70 blocks
  in.window_blocks = 80;        // 1280 - 18 - 80 * 15 = 62 units: 20 full blocks < 70
  const MemoryPlan p = plan_memory(in);
  EXPECT_EQ(p.window_blocks, 0);
  EXPECT_EQ(p.blocks, 1280 / 18 - 1);
  EXPECT_EQ(p.report.find("sliding-window"), std::string::npos) << p.report;
}

}  // namespace
}  // namespace loom::cuda_backend
