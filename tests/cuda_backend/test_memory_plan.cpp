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

TEST(CudaMemoryPlan, FractionOfWhatIsLeftMinusThePaddingBlock) {
  const MemoryPlan p = plan_memory(input());
  EXPECT_EQ(p.available, int64_t{1000} << 20);
  EXPECT_EQ(p.blocks, 499);  // 500 MiB / 1 MiB, one of them the graph padding block
  EXPECT_EQ(p.kv_bytes, int64_t{500} << 20);
  EXPECT_NE(p.report.find("kv cache 524288000 B"), std::string::npos) << p.report;
}

TEST(CudaMemoryPlan, CappedAtMaxNumSeqsFullContexts) {
  MemoryPlanInput in = input();
  in.max_num_seqs = 2;
  EXPECT_EQ(plan_memory(in).blocks, 128);
}

TEST(CudaMemoryPlan, ExplicitBlocksOverrideTheFraction) {
  MemoryPlanInput in = input();
  in.kv_blocks = 900;
  EXPECT_EQ(plan_memory(in).blocks, 900);
  in.kv_blocks = 1000;  // + padding block = 1001 MiB > 1000 MiB available
  EXPECT_THROW(plan_memory(in), ModelError);
}

TEST(CudaMemoryPlan, ImpossibleBudgetShowsTheNumbers) {
  MemoryPlanInput in = input();
  in.kv_cache_fraction = 0.05;  // 50 MiB: 49 blocks < 64 for one sequence
  try {
    plan_memory(in);
    FAIL() << "expected ModelError";
  } catch (const ModelError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("49 blocks"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs 64"), std::string::npos) << msg;
    EXPECT_NE(msg.find("free for KV 1048576000 B"), std::string::npos) << msg;
  }
  in = input();
  in.kv_cache_fraction = 1.5;
  EXPECT_THROW(plan_memory(in), ModelError);
}

}  // namespace
}  // namespace loom::cuda_backend
