// The CUDA backend, run under the SIMT emulator, against the CPU backend on
// SmolLM2-135M (Q4_1 + Q8_0): the same scheduler plans go to both; logits
// rows must agree within the tolerance derived below and greedy tokens must
// match exactly. Three sequences of different lengths run concurrently, one
// of them admitted with a prefix-cache hit on another's prompt; decode steps
// of three sequences replay a padded CUDA graph (batch 4).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>

#include "backends/common/chat/chat_template.h"
#include "backends/cpu/cpu_model.h"
#include "backends/cuda/cuda_executor.h"
#include "scheduler/scheduler.h"
#include "tests/common/test_paths.h"

namespace loom::test {
namespace {

constexpr int32_t kBlocks = 64, kBlockSize = 16, kContext = 512, kMaxSeqs = 4, kMaxTokens = 128;

// Tolerance. The two backends round differently, and neither is exact: the
// CPU quantizes every activation block to int8 (llama.cpp's q8 scheme,
// step = block max / 127) before its integer dot products and keeps the
// residual in fp32; the CUDA path keeps activations in fp16 (step 2^-11
// relative) with exact weights. For this 4-bit, 30-layer, 135M model the
// int8 activation rounding is amplified through the layers: llama.cpp
// against itself, changing only its attention precision, moves top-20 logits
// by several tenths and agrees on top-1 only ~96% of the time
// (tests/model/test_llama_reference.cpp, fixture smollm2_reference.json).
// Rows are compared after subtracting each row's mean logit (a uniform
// shift changes no probability; uncentered, whole rows move by up to ~1).
// Bounds: max |diff| <= 2 over the CPU's 20 most likely tokens (what
// sampling can pick; the max over all 49152 logits is set by the far tail,
// which the CPU's int8 rounding moves most, and is printed only) and mean
// |diff| <= 0.5 over the whole row.
// A real bug (wrong block, head, position, row or scale) moves logits by
// whole units over most of the vocabulary (mean |diff| >> 1) and changes the
// argmax. Greedy tokens must equal the CPU's argmax, except where the CPU's
// own margin between its best token and the device's is below kTie (the
// noise floor above; counted, at most one such row allowed).
constexpr double kMaxAbsDiff = 2.0, kMeanAbsDiff = 0.5, kTie = 0.5;

std::vector<int32_t> chat_prompt(const CudaModel& m, const std::string& user) {
  const ChatMessage msgs[] = {{"system", "Be brief."}, {"user", user}};
  const std::string text = render_chat(m.chat_template(), msgs, true, "", "<|im_end|>");
  return m.tokenizer().encode(text, true, true);
}

// The CPU reference for one plan: copy-on-write copies, then the forward
// pass over the plan's chunks; logits rows in logits_row order.
std::vector<float> cpu_logits(CpuModel& cpu, const sched::StepPlan& plan) {
  const ModelConfig& c = cpu.config();
  for (const auto& cp : plan.copies) cpu.kv_cache().copy_block(cp.src, cp.dst);
  std::vector<SequenceChunk> chunks;
  std::vector<int> row_of_chunk;
  for (const auto& s : plan.seqs) {
    chunks.push_back({s.tokens, s.start_pos, s.block_table, s.sample ? LogitsWanted::kLast : LogitsWanted::kNone});
    if (s.sample) row_of_chunk.push_back(s.logits_row);
  }
  std::vector<float> tmp(row_of_chunk.size() * c.n_vocab), out(tmp.size());
  cpu.forward(chunks, tmp.data());
  for (size_t i = 0; i < row_of_chunk.size(); ++i)
    std::copy_n(&tmp[i * c.n_vocab], c.n_vocab, &out[static_cast<size_t>(row_of_chunk[i]) * c.n_vocab]);
  return out;
}

int32_t argmax(const float* row, int32_t n) { return static_cast<int32_t>(std::max_element(row, row + n) - row); }

struct Models {
  std::unique_ptr<CpuModel> cpu;
  std::unique_ptr<CudaModel> cuda;
};

Models load_models() {
  Models m;
  CpuModelOptions co;
  co.max_context = kContext;
  co.kv_blocks = kBlocks;
  co.block_size = kBlockSize;
  co.max_batch_tokens = kMaxTokens;
  m.cpu = CpuModel::load(model_path(), co);
  CudaModelOptions go;
  go.max_context = kContext;
  go.kv_blocks = kBlocks;
  go.block_size = kBlockSize;
  go.max_batch_tokens = kMaxTokens;
  go.max_num_seqs = kMaxSeqs;
  // 3-sequence decode steps replay the graph of 3; the last 2-sequence steps
  // replay it with one padding row.
  go.graph_batch_sizes = {3};
  m.cuda = CudaModel::load(model_path(), go);
  return m;
}

TEST(CudaBackendEmulated, MatchesCpuBackendOnSmolLM2) {
  ASSERT_TRUE(std::filesystem::exists(model_path()))
      << "model " << model_path() << " is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)";
  const auto t0 = std::chrono::steady_clock::now();
  Models m = load_models();
  EXPECT_EQ(m.cuda->num_kv_blocks(), kBlocks);
  CudaExecutor gpu(*m.cuda);
  const int32_t vocab = m.cuda->config().n_vocab;

  sched::SchedulerConfig sc;
  sc.num_blocks = kBlocks;
  sc.block_size = kBlockSize;
  sc.max_num_seqs = kMaxSeqs;
  sc.max_batched_tokens = kMaxTokens;
  sc.max_model_len = kContext;
  sched::Scheduler scheduler(sc);

  const std::string question = "What is the capital of France?";
  const auto prompt_a = chat_prompt(*m.cuda, question);
  const auto prompt_b = m.cuda->tokenizer().encode("The quick brown fox", true, false);
  // C resumes A's conversation: A's prompt blocks come from the prefix cache.
  auto prompt_c = prompt_a;
  const auto extra = m.cuda->tokenizer().encode("Paris.<|im_end|>\n<|im_start|>user\nItaly?<|im_end|>\n", false, true);
  prompt_c.insert(prompt_c.end(), extra.begin(), extra.end());
  ASSERT_GE(prompt_a.size(), 1u * kBlockSize) << "A must fill a full block for the prefix cache";

  sampling::SamplingParams greedy;
  greedy.temperature = 0.0f;
  sampling::SamplingParams seeded;  // B: stochastic, checked against a CPU Sampler on the device's logits
  seeded.temperature = 0.8f;
  seeded.top_p = 0.9f;
  seeded.seed = 42;
  seeded.has_seed = true;
  std::map<sched::RequestId, sampling::Sampler> samplers;
  samplers.emplace(1, sampling::Sampler(greedy));
  samplers.emplace(2, sampling::Sampler(seeded));
  samplers.emplace(3, sampling::Sampler(greedy));
  sampling::Sampler mirror_b(seeded);

  auto now = sched::Clock::now();
  // A and B prefill in step 0; C arrives in step 1 (A's full blocks are cached
  // by then) and decodes alongside them for 9 steps.
  scheduler.add({1, prompt_a, 12, 0, now, std::nullopt, 0});
  scheduler.add({2, prompt_b, 12, 0, now, std::nullopt, 0});

  double worst = 0, worst_mean = 0;
  int rows_checked = 0, three_seq_decode_steps = 0, cached_tokens_c = -1, near_ties = 0;
  for (int step = 0; scheduler.has_unfinished() && step < 100; ++step) {
    if (step == 1) scheduler.add({3, prompt_c, 10, 0, now, std::nullopt, 0});
    const sched::StepPlan plan = scheduler.schedule(now);
    if (plan.empty()) continue;
    std::vector<RowSampling> rows(plan.num_logits_rows);
    int decodes = 0;
    for (const auto& s : plan.seqs) {
      if (s.sample) rows[s.logits_row] = RowSampling{&samplers.at(s.id), 0, false};
      if (s.id == 3 && cached_tokens_c < 0) cached_tokens_c = s.num_cached_tokens;
      decodes += s.num_tokens() == 1;
    }
    three_seq_decode_steps += decodes == 3 && plan.seqs.size() == 3;

    const auto results = gpu.execute(plan, rows);
    const std::vector<float> got = gpu.last_logits();
    const std::vector<float> want = cpu_logits(*m.cpu, plan);
    std::vector<sched::TokenId> sampled(plan.num_logits_rows);
    for (const auto& s : plan.seqs) {
      if (!s.sample) continue;
      const float* g = &got[static_cast<size_t>(s.logits_row) * vocab];
      const float* w = &want[static_cast<size_t>(s.logits_row) * vocab];
      // Compared after removing each row's mean: a uniform shift of all
      // logits changes no probability (softmax is shift-invariant).
      double mean_g = 0, mean_w = 0;
      for (int32_t i = 0; i < vocab; ++i) mean_g += g[i], mean_w += w[i];
      mean_g /= vocab;
      mean_w /= vocab;
      double all_max = 0, sum = 0;
      for (int32_t i = 0; i < vocab; ++i) {
        const double d = std::fabs((g[i] - mean_g) - (w[i] - mean_w));
        all_max = std::max(all_max, d);
        sum += d;
      }
      std::vector<int32_t> order(vocab);
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + 20, order.end(), [&](int32_t a, int32_t b) { return w[a] > w[b]; });
      double max_diff = 0;
      for (int k = 0; k < 20; ++k)
        max_diff = std::max(max_diff, std::fabs((g[order[k]] - mean_g) - (w[order[k]] - mean_w)));
      std::printf("step %d req %llu tokens %d graph %lld: top-20 max|diff| %.4f (all %.4f) mean %.5f\n", step,
                  static_cast<unsigned long long>(s.id), s.num_tokens(),
                  static_cast<long long>(gpu.graph_steps()), max_diff, all_max, sum / vocab);
      worst = std::max(worst, max_diff);
      worst_mean = std::max(worst_mean, sum / vocab);
      ++rows_checked;
      EXPECT_LE(max_diff, kMaxAbsDiff) << "step " << step << " request " << s.id;
      EXPECT_LE(sum / vocab, kMeanAbsDiff) << "step " << step << " request " << s.id;
      const int32_t token = results[s.logits_row].token;
      if (s.id == 2) {
        std::vector<float> copy(g, g + vocab);
        EXPECT_EQ(mirror_b.sample(copy), token) << "device sampling differs from Sampler, step " << step;
        EXPECT_EQ(mirror_b.draws(), samplers.at(2).draws());
      } else {
        const int32_t best = argmax(w, vocab);
        if (token != best) {
          ++near_ties;
          EXPECT_LE(w[best] - w[token], kTie) << "greedy token differs from the CPU's, step " << step
                                              << " request " << s.id;
        }
        EXPECT_EQ(token, argmax(g, vocab)) << "device greedy is not the argmax of its own logits";
      }
      sampled[s.logits_row] = token;
    }
    scheduler.update(plan, sampled);
  }
  const double seconds = std::chrono::duration<double>(sched::Clock::now() - t0).count();
  std::printf("rows %d, worst max|diff| %.4f, worst mean|diff| %.5f, 3-seq decode steps %d, graph steps %lld, "
              "eager steps %lld, C cached tokens %d, near ties %d, %.1f s\n",
              rows_checked, worst, worst_mean, three_seq_decode_steps,
              static_cast<long long>(gpu.graph_steps()), static_cast<long long>(gpu.eager_steps()),
              cached_tokens_c, near_ties, seconds);
  EXPECT_FALSE(scheduler.has_unfinished());
  EXPECT_GE(three_seq_decode_steps, 8);
  EXPECT_LE(near_ties, 1) << "greedy tokens diverged from the CPU's in more than one near-tie";
  EXPECT_GT(cached_tokens_c, 0) << "C must resume from the prefix cache";
  EXPECT_GT(gpu.graph_steps(), 0);
  EXPECT_GT(gpu.eager_steps(), 0);
  EXPECT_EQ(samplers.at(2).draws(), mirror_b.draws());
}

}  // namespace
}  // namespace loom::test
