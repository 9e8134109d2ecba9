// The CUDA plugin's KV sizing rules (backends/cuda/plugin/kv_plan.h) against
// hand-computed numbers; no model, no device.
#include <gtest/gtest.h>

#include "backends/common/plugin/errors.h"
#include "backends/cuda/cuda_forward.h"
#include "backends/cuda/plugin/kv_plan.h"

namespace cp = loom::cuda_plugin;

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr size_t kBlock = 368640;  // SmolLM2: 30 layers x K,V x 16 tokens x 3 heads x 64 x 2 B

cp::KvPlanInput smollm(bool emulated) {
  cp::KvPlanInput in;
  in.emulated = emulated;
  in.device_memory = 16 * kGiB;
  in.mem_available = 8 * kGiB;
  in.weight_bytes = 100'000'000;
  in.bytes_per_block = kBlock;
  in.block_size = 16;
  in.max_context = 1024;  // 64 blocks per sequence
  in.max_num_seqs = 4;    // cap 256 blocks
  return in;
}

loom_error_code code_of(const cp::KvPlanInput& in, std::string* message) {
  try {
    cp::plan_kv(in);
  } catch (const loom::plugin::PluginError& e) {
    *message = e.what();
    return e.code();
  }
  return LOOM_OK;
}

}  // namespace

TEST(CudaKvPlan, BytesPerBlockFp16MatchesTheForwardPassAndInt8Formula) {
  loom::ModelConfig c;
  c.n_layers = 30;
  c.n_kv_heads = 3;
  c.head_dim = 64;
  using loom::cuda_backend::CudaForward;
  EXPECT_EQ(CudaForward::kv_bytes_per_block(c, 16, false), kBlock);
  EXPECT_EQ(CudaForward::kv_bytes_per_block(c, 16, true), size_t{30} * 2 * 16 * 3 * (64 + 4));
}

TEST(CudaKvPlan, DeviceDefaultLeavesTheFractionToCudaModel) {
  const cp::KvPlan p = cp::plan_kv(smollm(false));
  EXPECT_EQ(p.kv_blocks, 0);
  EXPECT_FALSE(p.fraction.has_value());  // CudaModel's default 0.9
  EXPECT_EQ(p.bytes, 0);
  EXPECT_EQ(p.source, "kv_cache_fraction 0.900000 of the free device memory");
  auto in = smollm(false);
  in.fraction = 0.5;
  const cp::KvPlan q = cp::plan_kv(in);
  EXPECT_EQ(q.kv_blocks, 0);
  ASSERT_TRUE(q.fraction.has_value());
  EXPECT_DOUBLE_EQ(*q.fraction, 0.5);
  EXPECT_EQ(q.bytes, 0);
}

// The free device memory is only known inside CudaModel::load: both keys go
// there (memory_plan.h takes the min), not a block count.
TEST(CudaKvPlan, DeviceKeysPassThroughToCudaModel) {
  auto in = smollm(false);
  in.bytes = int64_t{100} * kBlock + 7;  // 36864007
  cp::KvPlan p = cp::plan_kv(in);
  EXPECT_EQ(p.kv_blocks, 0);
  EXPECT_EQ(p.bytes, 36864007);
  EXPECT_FALSE(p.fraction.has_value());
  EXPECT_EQ(p.budget_bytes, 0);
  EXPECT_EQ(p.source, "kv_cache_bytes");
  in.fraction = 0.5;
  p = cp::plan_kv(in);
  EXPECT_EQ(p.kv_blocks, 0);
  EXPECT_EQ(p.bytes, 36864007);
  ASSERT_TRUE(p.fraction.has_value());
  EXPECT_DOUBLE_EQ(*p.fraction, 0.5);
  EXPECT_EQ(p.source, "min(kv_cache_fraction 0.500000 of the free device memory, kv_cache_bytes 36864007)");
}

// kv_cache_bytes bounds the budget from above, so one too small for a single
// sequence fails before the model is read, with or without a fraction.
TEST(CudaKvPlan, DeviceBytesBelowOneSequenceIsResourceExhaustedWithTheNumbers) {
  auto in = smollm(false);
  in.bytes = int64_t{64} * kBlock;  // 63 usable blocks < 64
  std::string msg;
  EXPECT_EQ(code_of(in, &msg), LOOM_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.find("KV budget of 23592960 bytes (kv_cache_bytes) holds 63 blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs 64 blocks"), std::string::npos) << msg;
  in.fraction = 1.0;
  EXPECT_EQ(code_of(in, &msg), LOOM_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.find("holds 63 blocks"), std::string::npos) << msg;
  in.bytes = int64_t{65} * kBlock;  // 64 usable: enough, CudaModel decides the rest
  EXPECT_EQ(code_of(in, &msg), LOOM_OK) << msg;
  EXPECT_EQ(cp::plan_kv(in).bytes, int64_t{65} * kBlock);
}

TEST(CudaKvPlan, EmulatedBytesGiveBlocksMinusThePaddingBlockCappedAtMaxNumSeqs) {
  auto in = smollm(true);
  in.bytes = int64_t{100} * kBlock + 7;  // 100 blocks, one of them the padding block
  cp::KvPlan p = cp::plan_kv(in);
  EXPECT_EQ(p.kv_blocks, 99);
  EXPECT_EQ(p.budget_bytes, 36864007);
  EXPECT_FALSE(p.capped);
  in.bytes = int64_t{1000} * kBlock;
  p = cp::plan_kv(in);
  EXPECT_EQ(p.kv_blocks, 256);  // 4 full contexts of 64 blocks
  EXPECT_TRUE(p.capped);
  in.bytes = int64_t{64} * kBlock;  // 63 usable blocks < 64
  std::string msg;
  EXPECT_EQ(code_of(in, &msg), LOOM_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.find("holds 63 blocks"), std::string::npos) << msg;
}

TEST(CudaKvPlan, EmulatedDefaultIsAtMost256MiB) {
  auto in = smollm(true);
  in.max_num_seqs = 1000;  // no cap from the sequences
  const cp::KvPlan p = cp::plan_kv(in);
  EXPECT_EQ(p.budget_bytes, cp::kEmulatedDefaultKvBytes);
  EXPECT_EQ(p.kv_blocks, static_cast<int32_t>(cp::kEmulatedDefaultKvBytes / kBlock) - 1);
  EXPECT_EQ(p.source.rfind("emulated default", 0), 0u) << p.source;
  // A host with little free memory: 0.9 of min(16 GiB, 512 MiB / 2) - weights.
  in.mem_available = kGiB / 2;
  const int64_t free = kGiB / 4 - in.weight_bytes;
  EXPECT_EQ(cp::plan_kv(in).budget_bytes, static_cast<int64_t>(0.9 * static_cast<double>(free)));
}

TEST(CudaKvPlan, EmulatedKeysTakeTheSmallerBudgetAndRefuseMoreThanFree) {
  auto in = smollm(true);  // free = min(16 GiB, 4 GiB) - 1e8
  const int64_t free = 4 * kGiB - in.weight_bytes;
  in.fraction = 0.01;
  in.max_num_seqs = 1000;
  EXPECT_EQ(cp::plan_kv(in).budget_bytes, static_cast<int64_t>(0.01 * static_cast<double>(free)));
  in.bytes = int64_t{80} * kBlock;  // smaller than 1% of ~4 GiB
  EXPECT_EQ(cp::plan_kv(in).kv_blocks, 79);
  EXPECT_EQ(cp::plan_kv(in).source, "kv_cache_bytes");
  in.bytes = free + 1;
  std::string msg;
  EXPECT_EQ(code_of(in, &msg), LOOM_ERR_RESOURCE_EXHAUSTED);
  EXPECT_NE(msg.find("emulated device"), std::string::npos) << msg;
}
