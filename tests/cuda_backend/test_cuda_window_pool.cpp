// The CUDA backend's window pool (backends/cuda/memory_plan.h,
// scheduler/README.md), under the SIMT emulator: Gemma 3 with its sliding
// window patched to 8 keys and 4-token blocks, so the scheduler drops the
// sliding layers' blocks behind the window within a few steps and hands them
// to the other sequence. The same plans go to a CudaModel with the window
// pool and to one with every layer in one pool (window_pool = false); since
// both read the very same keys through the same kernels, every logits row
// must be bit-identical. A read of a dropped block would show: the pool
// starts as 0xFF (NaN in fp16) under the emulator, and a reused block holds
// the other sequence's keys. Then a repeat of A hits the prefix cache after
// the drops and must again equal the one-pool repeat bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include "backends/common/engine/engine.h"
#include "backends/cuda/cuda_executor.h"
#include "scheduler/scheduler.h"
#include "tests/common/test_paths.h"
#include "tests/cuda_backend/gemma3_window_copy.h"

namespace loom::test {
namespace {

constexpr int32_t kWindow = 8, kBlockSize = 4, kContext = 128, kMaxSeqs = 2, kStepTokens = 8;

CudaModelOptions options(bool window_pool) {
  CudaModelOptions o;
  o.max_context = kContext;
  o.kv_blocks = kMaxSeqs * kContext / kBlockSize;
  o.block_size = kBlockSize;
  o.max_batch_tokens = kStepTokens;
  o.max_num_seqs = kMaxSeqs;
  o.graph_batch_sizes = {2};  // one decoding sequence replays it with a padding slot
  o.window_pool = window_pool;
  o.print_memory_plan = window_pool;
  return o;
}

bool drops_a_block(const sched::StepPlan& plan) {
  for (const auto& s : plan.seqs)
    for (auto b : s.window_block_table)
      if (b < 0) return true;
  return false;
}

struct Pair {
  CudaExecutor& plain;
  CudaExecutor& windowed;
  std::map<sched::RequestId, sampling::Sampler> plain_samplers, windowed_samplers;
  int rows = 0, steps_dropping = 0, graph_steps = 0, peak_window_blocks = 0;

  // One plan on both executors; every logits row compared bit for bit.
  std::vector<sched::TokenId> step(const sched::StepPlan& plan) {
    std::vector<RowSampling> a(plan.num_logits_rows), b(plan.num_logits_rows);
    for (const auto& s : plan.seqs) {
      if (!s.sample) continue;
      sampling::SamplingParams greedy;
      greedy.temperature = 0.0f;
      plain_samplers.try_emplace(s.id, greedy);
      windowed_samplers.try_emplace(s.id, greedy);
      a[s.logits_row] = RowSampling{&plain_samplers.at(s.id), 0, false};
      b[s.logits_row] = RowSampling{&windowed_samplers.at(s.id), 0, false};
    }
    const int64_t graphs_before = windowed.graph_steps();
    const auto want = plain.execute(plan, a);
    const auto got = windowed.execute(plan, b);
    graph_steps += windowed.graph_steps() > graphs_before ? 1 : 0;
    steps_dropping += drops_a_block(plan) ? 1 : 0;
    const std::vector<float> want_logits = plain.last_logits(), got_logits = windowed.last_logits();
    EXPECT_EQ(want_logits.size(), got_logits.size());
    EXPECT_EQ(std::memcmp(want_logits.data(), got_logits.data(), want_logits.size() * sizeof(float)), 0)
        << "logits differ from the one-pool model's";
    std::vector<sched::TokenId> sampled;
    for (size_t r = 0; r < got.size(); ++r) {
      EXPECT_EQ(got[r].token, want[r].token) << "row " << r;
      sampled.push_back(got[r].token);
    }
    rows += static_cast<int>(got.size());
    return sampled;
  }
};

TEST(CudaBackendEmulated, WindowPoolIsBitIdenticalToOnePoolWhileDroppingBlocks) {
  const std::string path = gemma_model_path();
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << "Gemma 3 model " << path << " is missing (run scripts/fetch_model.sh gemma3 or set LOOM_GEMMA_MODEL)";
  const std::string patched = window_patched_copy(path, kWindow, "window_pool");
  ASSERT_FALSE(patched.empty()) << "no u32 gemma3.attention.sliding_window in " << path;
  auto one_pool = CudaModel::load(patched, options(false));
  auto two_pools = CudaModel::load(patched, options(true));
  std::filesystem::remove(patched);
  ASSERT_EQ(one_pool->num_window_kv_blocks(), 0);
  ASSERT_GT(two_pools->num_window_kv_blocks(), 0) << two_pools->memory_report();
  ASSERT_EQ(two_pools->window_keep_tokens(), kWindow);
  ASSERT_GE(two_pools->num_kv_blocks(), one_pool->num_kv_blocks());
  EXPECT_LT(two_pools->memory_plan().kv_bytes, one_pool->memory_plan().kv_bytes);
  CudaExecutor plain(*one_pool), windowed(*two_pools);

  EngineConfig ec;
  ec.max_num_seqs = kMaxSeqs;
  ec.max_batched_tokens = kStepTokens;
  sched::SchedulerConfig sc = scheduler_config(ec, windowed);  // with the window pool
  sc.num_blocks = one_pool->num_kv_blocks();  // block ids valid in both models' full pools
  sched::Scheduler scheduler(sc);

  const Tokenizer& tok = two_pools->tokenizer();
  const auto prompt_a = tok.encode(
      "The harbour log: crate 12 left on Monday, crate 40 on Tuesday, crate 7 on Wednesday, and on "
      "Thursday the last crate, number",
      true, false);
  const auto prompt_b = tok.encode(
      "Count with me: one, two, three, four, five,", true, false);
  const int a_new = 3, b_new = 2;
  const int a_blocks = (static_cast<int>(prompt_a.size()) + a_new + kBlockSize - 1) / kBlockSize;
  const int b_blocks = (static_cast<int>(prompt_b.size()) + b_new + kBlockSize - 1) / kBlockSize;
  // More blocks than the window pool has: some of A's dropped blocks must be B's later.
  ASSERT_GT(a_blocks + b_blocks, windowed.num_window_kv_blocks())
      << prompt_a.size() << " + " << prompt_b.size() << " prompt tokens";

  Pair pair{plain, windowed};
  const auto now = sched::Clock::now();
  scheduler.add({1, prompt_a, a_new, 0, now, std::nullopt, 0});
  for (int step = 0; scheduler.has_unfinished() && step < 40; ++step) {
    if (step == 1) scheduler.add({2, prompt_b, b_new, 0, now, std::nullopt, 0});
    const sched::StepPlan plan = scheduler.schedule(now);
    if (plan.empty()) continue;
    scheduler.update(plan, pair.step(plan));
    pair.peak_window_blocks = std::max(pair.peak_window_blocks, scheduler.stats().window_blocks_used);
  }
  EXPECT_FALSE(scheduler.has_unfinished());
  EXPECT_GT(pair.steps_dropping, 0);
  EXPECT_GT(pair.graph_steps, 0);
  EXPECT_LE(pair.peak_window_blocks, windowed.num_window_kv_blocks());

  // A again: its full-pool blocks are cached, and the window pool still holds
  // the tail its first new query reads, so the hit reaches past the window.
  scheduler.add({3, prompt_a, 1, 0, now, std::nullopt, 0});
  int cached = -1;
  for (int step = 0; scheduler.has_unfinished() && step < 10; ++step) {
    const sched::StepPlan plan = scheduler.schedule(now);
    if (plan.empty()) continue;
    if (cached < 0) cached = plan.seqs.at(0).start_pos;
    scheduler.update(plan, pair.step(plan));
  }
  EXPECT_GT(cached, kWindow) << "the repeat did not reuse A's blocks";
  std::printf("rows %d, steps dropping blocks %d, graph steps %d, window blocks peak %d of %d, "
              "blocks needed %d, repeat cached %d tokens\n",
              pair.rows, pair.steps_dropping, pair.graph_steps, pair.peak_window_blocks,
              windowed.num_window_kv_blocks(), a_blocks + b_blocks, cached);
}

}  // namespace
}  // namespace loom::test
