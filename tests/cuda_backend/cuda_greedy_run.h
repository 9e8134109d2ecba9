// One sequence through the (emulated) CUDA backend, greedy: the scheduler's
// plans go to CudaExecutor step by step; every step's logits row is kept.
// Shared by the model-level tests of this folder.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/common/engine/engine.h"
#include "backends/cuda/cuda_executor.h"
#include "scheduler/scheduler.h"

namespace loom::test {

struct CudaGreedyRun {
  std::vector<int32_t> tokens;             // sampled, one per step
  std::vector<std::vector<float>> logits;  // one row per step
  int64_t graph_steps = 0;                 // steps that replayed a CUDA graph
};

// Options for one sequence of up to `context` tokens in `blocks` KV blocks,
// 32-token steps, decode steps replaying a captured graph of batch 1.
inline CudaModelOptions one_sequence_options(int32_t context, int32_t blocks, int32_t block_size) {
  CudaModelOptions o;
  o.max_context = context;
  o.kv_blocks = blocks;
  o.block_size = block_size;
  o.max_batch_tokens = 32;
  o.max_num_seqs = 1;
  o.graph_batch_sizes = {1};
  o.print_memory_plan = false;
  return o;
}

// The scheduler is sized from the executor as an engine's is (its KV pools,
// block size, context and step size), one sequence.
inline CudaGreedyRun cuda_greedy_run(CudaModel& model, const std::vector<int32_t>& prompt, int32_t new_tokens) {
  CudaExecutor gpu(model);
  EngineConfig ec;
  ec.max_num_seqs = 1;
  ec.max_batched_tokens = model.max_batch_tokens();
  sched::Scheduler scheduler(scheduler_config(ec, gpu));
  sampling::SamplingParams greedy;
  greedy.temperature = 0.0f;
  sampling::Sampler sampler(greedy);
  const auto now = sched::Clock::now();
  scheduler.add({1, prompt, new_tokens, 0, now, std::nullopt, 0});
  CudaGreedyRun run;
  for (int step = 0; scheduler.has_unfinished() && step < 4 * new_tokens + 16; ++step) {
    const sched::StepPlan plan = scheduler.schedule(now);
    if (plan.empty()) continue;
    std::vector<RowSampling> rows(plan.num_logits_rows, RowSampling{&sampler, 0, false});
    const auto results = gpu.execute(plan, rows);
    run.logits.push_back(gpu.last_logits());
    std::vector<sched::TokenId> sampled;
    for (const auto& r : results) sampled.push_back(r.token);
    run.tokens.insert(run.tokens.end(), sampled.begin(), sampled.end());
    scheduler.update(plan, sampled);
  }
  run.graph_steps = gpu.graph_steps();
  return run;
}

}  // namespace loom::test
