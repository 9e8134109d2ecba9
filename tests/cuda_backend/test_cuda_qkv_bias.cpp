// QKV bias (Qwen2-style attn_{q,k,v}.bias) on the device path: a tiny
// random-weights model (bench/gpu/random_gguf) run by the emulated CUDA
// backend and by the CPU backend on the same scheduler plans. The CPU
// backend (tested against llama.cpp's semantics) is the reference; the same
// model without the biases shows how far logits move when the biases are
// lost, so the agreement bound means something.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "backends/cpu/cpu_model.h"
#include "bench/gpu/random_gguf.h"
#include "scheduler/scheduler.h"
#include "tests/cuda_backend/cuda_greedy_run.h"

namespace loom::test {
namespace {

constexpr int32_t kBlocks = 8, kBlockSize = 16, kContext = 128, kNewTokens = 4;

std::string write_model(bool bias) {
  gpu_bench::RandomLlamaSpec s;
  s.n_layers = 2;
  s.dim = 256;
  s.n_heads = 4;  // head_dim 64, GQA 2
  s.n_kv_heads = 2;
  s.ffn_dim = 512;
  s.n_vocab = 512;
  s.context = kContext;
  s.matrix_type = GgmlType::Q8_0;
  s.tied_output = true;
  s.qkv_bias = bias;
  s.seed = 7;  // the same weights with and without the biases
  const auto path = std::filesystem::temp_directory_path() /
                    ("loom-qkv-bias-" + std::to_string(::getpid()) + (bias ? "-b" : "-n") + ".gguf");
  gpu_bench::write_random_llama_gguf(path.string(), s);
  return path.string();
}

sched::Scheduler make_scheduler(const std::vector<int32_t>& prompt) {
  sched::SchedulerConfig sc;
  sc.num_blocks = kBlocks;
  sc.block_size = kBlockSize;
  sc.max_num_seqs = 1;
  sc.max_batched_tokens = 32;
  sc.max_model_len = kContext;
  sched::Scheduler s(sc);
  s.add({1, prompt, kNewTokens, 0, sched::Clock::now(), std::nullopt, 0});
  return s;
}

// Greedy steps on the CPU backend: one logits row per step.
std::vector<std::vector<float>> cpu_rows(const std::string& path, const std::vector<int32_t>& prompt) {
  CpuModelOptions o;
  o.max_context = kContext;
  o.kv_blocks = kBlocks;
  o.block_size = kBlockSize;
  o.max_batch_tokens = 32;
  auto cpu = CpuModel::load(path, o);
  auto scheduler = make_scheduler(prompt);
  std::vector<std::vector<float>> rows;
  for (int step = 0; scheduler.has_unfinished() && step < 10; ++step) {
    const sched::StepPlan plan = scheduler.schedule(sched::Clock::now());
    if (plan.empty()) continue;
    const auto& s = plan.seqs.at(0);
    std::vector<SequenceChunk> chunks{{s.tokens, s.start_pos, s.block_table, LogitsWanted::kLast}};
    std::vector<float> row(cpu->config().n_vocab);
    cpu->forward(chunks, row.data());
    const auto token = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    rows.push_back(std::move(row));
    scheduler.update(plan, std::vector<sched::TokenId>{token});
  }
  return rows;
}

std::vector<std::vector<float>> cuda_rows(const std::string& path, const std::vector<int32_t>& prompt) {
  auto model = CudaModel::load(path, one_sequence_options(kContext, kBlocks, kBlockSize));
  CudaGreedyRun run = cuda_greedy_run(*model, prompt, kNewTokens);
  EXPECT_GT(run.graph_steps, 0);
  return run.logits;
}

double mean_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::fabs(double(a[i]) - b[i]);
  return sum / static_cast<double>(a.size());
}

int32_t argmax(const std::vector<float>& r) {
  return static_cast<int32_t>(std::max_element(r.begin(), r.end()) - r.begin());
}

TEST(CudaBackendQkvBias, MatchesTheCpuBackendAndTheBiasesMatter) {
  const std::string with = write_model(true), without = write_model(false);
  const std::vector<int32_t> prompt = {1, 300, 301, 302, 420, 421, 303, 500, 304, 305, 306};
  const auto cpu_b = cpu_rows(with, prompt), gpu_b = cuda_rows(with, prompt);
  const auto cpu_n = cpu_rows(without, prompt);
  std::filesystem::remove(with);
  std::filesystem::remove(without);
  ASSERT_EQ(cpu_b.size(), static_cast<size_t>(kNewTokens));
  ASSERT_EQ(gpu_b.size(), cpu_b.size());
  for (size_t s = 0; s < cpu_b.size(); ++s) {
    const double device = mean_abs_diff(gpu_b[s], cpu_b[s]);
    const double dropped = mean_abs_diff(cpu_n[s], cpu_b[s]);
    std::printf("step %zu: mean|cuda - cpu| %.5f, mean|no bias - bias| %.5f\n", s, device, dropped);
    // The device keeps fp16 activations, the CPU int8 blocks (q8 scheme):
    // their difference must be small beside what the biases contribute.
    EXPECT_LT(device, 0.1 * dropped) << "step " << s;
    EXPECT_EQ(argmax(gpu_b[s]), argmax(cpu_b[s])) << "step " << s;
  }
}

}  // namespace
}  // namespace loom::test
