// Gemma 3's sliding-window layers with their KV in a window pool of its own
// (scheduler/README.md): the engine must produce the very same tokens and
// log-probabilities as with every layer in one pool, while the window pool
// is too small to hold the prompts unless out-of-window blocks are dropped,
// and a prefix-cache hit after those drops must still be exact.
#include <gtest/gtest.h>

#include <filesystem>

#include "scheduler/scheduler.h"
#include "tests/engine/engine_harness.h"

namespace loom::test {
namespace {

constexpr int kMaxSeqs = 2;
constexpr int kStepTokens = 256;

std::unique_ptr<CpuModel> load_gemma(bool window_pool) {
  CpuModelOptions o;
  o.max_context = 2048;
  o.kv_blocks = 256;
  o.max_batch_tokens = kStepTokens;
  o.threads = 2;
  auto model = CpuModel::load(gemma_model_path(), o);
  if (!window_pool) return model;
  sched::SchedulerConfig s;
  s.max_num_seqs = kMaxSeqs;
  s.max_batched_tokens = kStepTokens;
  s.window_keep_tokens = cpu_window_keep_tokens(model->config());
  o.window_kv_blocks = s.min_window_blocks();
  return CpuModel::load(gemma_model_path(), o);
}

// A long text of distinct sentences (so the model's output depends on it).
std::string long_text(int sentences, int salt) {
  std::string t;
  for (int i = 0; i < sentences; ++i)
    t += "Entry " + std::to_string(i * 7 + salt) + " of the ledger records that crate " +
         std::to_string(i * 13 % 97 + salt) + " left the harbour on day " + std::to_string(i % 31 + 1) + ". ";
  return t + "The last entry says";
}

JobRequest job(std::string id, std::string prompt) {
  JobRequest r = text_job(std::move(id), std::move(prompt), 24);
  r.params.logprobs = 1;
  return r;
}

struct Run {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  int32_t prompt_tokens = 0, cached_tokens = 0;
};

std::map<std::string, Run> run(Engine& engine, std::vector<JobRequest> jobs) {
  EventCollector events;
  std::vector<std::string> ids;
  for (auto& j : jobs) {
    ids.push_back(j.id);
    engine.submit(std::move(j), events.callback());
  }
  EXPECT_TRUE(events.wait_finished(static_cast<int>(ids.size())));
  std::map<std::string, Run> out;
  for (const auto& id : ids) {
    const JobRecord r = events.get(id);
    EXPECT_EQ(r.terminals, 1);
    Run& o = out[id];
    o.tokens = r.tokens;
    for (const auto& e : r.events)
      for (const auto& lp : e.logprobs) o.logprobs.push_back(lp.logprob);
    if (r.terminal && r.terminal->kind == JobEvent::Kind::kDone) {
      o.prompt_tokens = r.terminal->usage.prompt_tokens;
      o.cached_tokens = r.terminal->usage.cached_tokens;
    } else {
      ADD_FAILURE() << id << " did not finish: " << (r.terminal ? r.terminal->text : "no terminal event");
    }
  }
  return out;
}

TEST(EngineWindowPool, SameTokensAsOnePoolWithBlocksDroppedAndPrefixReuse) {
  if (!std::filesystem::exists(gemma_model_path()))
    GTEST_SKIP() << gemma_model_path() << " is missing (scripts/fetch_model.sh gemma3, or LOOM_GEMMA_MODEL)";
  auto plain = load_gemma(false);
  auto windowed = load_gemma(true);
  ASSERT_EQ(plain->kv_cache().num_window_blocks(), 0);
  ASSERT_GT(windowed->kv_cache().num_window_blocks(), 0);
  EXPECT_LT(windowed->kv_cache().bytes(), plain->kv_cache().bytes());

  EngineConfig config;
  config.max_num_seqs = kMaxSeqs;
  config.max_batched_tokens = kStepTokens;
  const std::string a = long_text(45, 1), b = long_text(34, 5);
  auto jobs = [&] { return std::vector<JobRequest>{job("a", a), job("b", b)}; };
  auto reference_engine = make_engine(*plain, config);
  auto reference = run(*reference_engine, jobs());
  auto engine = make_engine(*windowed, config);
  auto got = run(*engine, jobs());

  const int window_blocks = windowed->kv_cache().num_window_blocks();
  int prompt_blocks = 0;
  for (const auto& [id, r] : reference) {
    SCOPED_TRACE(id);
    ASSERT_EQ(r.tokens.size(), 24u);
    EXPECT_GT(r.prompt_tokens, windowed->config().sliding_window) << "the prompt must outgrow the window";
    prompt_blocks += (r.prompt_tokens + 24 + 15) / 16;
    EXPECT_EQ(got[id].tokens, r.tokens);
    EXPECT_EQ(got[id].logprobs, r.logprobs);  // bit for bit: the same keys are read
  }
  // Both sequences run together (max_num_seqs 2): only dropping lets them fit.
  EXPECT_GT(prompt_blocks, window_blocks);

  // The prefix cache after the drops: a repeat of "a" reuses its blocks
  // (the window pool still holds the tail it reads) and gives the same result
  // as the same repeat on one pool. (Not the first run's bits: that one was
  // batched with "b", and exact numerics follow llama.cpp's batch-size
  // dependent K-quant order, kernels/cpu/vec_dot.h.)
  auto again = run(*engine, {job("a2", a)});
  auto reference_again = run(*reference_engine, {job("a2", a)});
  EXPECT_GT(again["a2"].cached_tokens, windowed->config().sliding_window);
  EXPECT_EQ(again["a2"].cached_tokens, reference_again["a2"].cached_tokens);
  EXPECT_EQ(again["a2"].tokens, reference_again["a2"].tokens);
  EXPECT_EQ(again["a2"].logprobs, reference_again["a2"].logprobs);
}

}  // namespace
}  // namespace loom::test
