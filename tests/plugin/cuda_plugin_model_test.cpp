// libloom_cuda_emu.so (the CUDA backend on the SIMT emulator) with SmolLM2,
// through dlopen and the C ABI only: its greedy tokens equal libloom_cpu.so's
// for the same prompt (the CPU backend is an independent implementation of
// the same model), the start-up report shows the emulated memory plan, and a
// KV budget below one sequence is refused before the model is loaded.
// Emulation runs ~3-4 s per token row, so prompts and outputs are short.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/plugin/cuda_plugin_paths.h"
#include "tests/plugin/plugin_collector.h"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;
using loom::test::PluginCollector;
using loom::test::PluginJob;

namespace {

constexpr int kTokens = 4;
const std::string kPrompt = "The capital of France is";

// Context 256 (16 blocks of 16), 2 sequences: the default emulated budget is
// capped at 2 full contexts = 32 blocks. Decode steps replay the graph of 1.
std::string emu_config(const std::string& extra = "") {
  return "{\"model\": \"" + loom::test::model_path() +
         "\", \"max_context\": 256, \"max_num_seqs\": 2, \"max_batch_tokens\": 64, "
         "\"graph_batch_sizes\": [1]" + extra + "}";
}

#define SKIP_WITHOUT_MODEL()                                          \
  if (!std::filesystem::exists(loom::test::model_path()))             \
  GTEST_SKIP() << "model " << loom::test::model_path() << " is missing (scripts/fetch_model.sh)"

PluginJob run_greedy(ph::Backend& b, const std::string& id, bool stream) {
  PluginCollector c;
  loom_job_request r = loom::test::greedy_text_request(id, kPrompt, kTokens);
  r.ignore_eos = 1;
  r.stream = stream ? 1 : 0;
  b.submit(r, PluginCollector::callback, &c);
  EXPECT_TRUE(c.wait_terminals(1, std::chrono::seconds(240)));
  return c.get(id);
}

class CudaEmuPluginModel : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(loom::test::model_path())) return;
    lib_ = ph::Library::open(loom::test::cuda_emu_plugin_path());
    backend_ = new ph::Backend(lib_->create(emu_config()));
    backend_->start();
  }
  static void TearDownTestSuite() {
    delete backend_;
    backend_ = nullptr;
  }
  void SetUp() override { SKIP_WITHOUT_MODEL(); }

  static inline std::shared_ptr<ph::Library> lib_;
  static inline ph::Backend* backend_ = nullptr;
};

}  // namespace

TEST_F(CudaEmuPluginModel, GreedyTokensEqualTheCpuPlugin) {
  std::vector<int32_t> cpu_ids;
  std::string cpu_text;
  {
    auto cpu = ph::Library::open(loom::test::cpu_plugin_path());
    ph::Backend b = cpu->create(loom::test::plugin_test_config());
    b.start();
    const PluginJob job = run_greedy(b, "cpu", false);
    ASSERT_EQ(job.events.back().kind, LOOM_EVENT_DONE) << job.events.back().message;
    cpu_ids = job.ids;
    cpu_text = job.text;
  }
  ASSERT_EQ(cpu_ids.size(), static_cast<size_t>(kTokens));
  const PluginJob emu = run_greedy(*backend_, "emu", false);
  ASSERT_EQ(emu.terminals, 1);
  ASSERT_EQ(emu.events.back().kind, LOOM_EVENT_DONE) << emu.events.back().message;
  EXPECT_EQ(emu.ids, cpu_ids) << "cuda-emu \"" << emu.text << "\" vs cpu \"" << cpu_text << "\"";
  EXPECT_EQ(emu.text, cpu_text);
  EXPECT_EQ(emu.events.back().prompt_tokens, static_cast<int32_t>(backend_->tokenize(kPrompt).size()));

  // Streamed: deltas that add up to the same text; the decode steps replay the graph.
  const PluginJob streamed = run_greedy(*backend_, "emu-stream", true);
  ASSERT_EQ(streamed.events.back().kind, LOOM_EVENT_DONE) << streamed.events.back().message;
  EXPECT_GT(streamed.deltas, 0);
  EXPECT_EQ(streamed.ids, cpu_ids);
  EXPECT_EQ(streamed.text, cpu_text);
}

TEST_F(CudaEmuPluginModel, StartupReportShowsTheEmulatedPlan) {
  const auto stats = nlohmann::json::parse(backend_->stats_json());
  const auto& s = stats["startup"];
  EXPECT_TRUE(s["emulated"].get<bool>());
  EXPECT_EQ(s["context"], 256);
  EXPECT_EQ(s["kv_block_size"], 16);
  EXPECT_EQ(s["kv_blocks"], 32) << s.dump();  // 2 sequences x 256 / 16
  EXPECT_TRUE(s["kv_capped_to_max_num_seqs"].get<bool>());
  EXPECT_EQ(s["kv_bytes"], int64_t{33} * 368640);  // + the graph padding block
  EXPECT_EQ(s["kv_budget_source"].get<std::string>().rfind("emulated default", 0), 0u) << s.dump();
  EXPECT_LE(s["kv_budget_bytes"].get<int64_t>(), int64_t{256} << 20);
  EXPECT_GT(s["weight_bytes"].get<int64_t>(), 50'000'000) << s.dump();
  EXPECT_EQ(s["graph_batch_sizes"], nlohmann::json::array({1}));
  EXPECT_EQ(s["kv_cache_dtype"], "fp16");
  EXPECT_EQ(stats["kv_blocks_total"], 32) << stats.dump();
}

TEST(CudaEmuPluginBudget, BelowOneSequenceIsResourceExhaustedBeforeLoading) {
  SKIP_WITHOUT_MODEL();
  auto lib = ph::Library::open(loom::test::cuda_emu_plugin_path());
  const std::string json = emu_config(", \"kv_cache_bytes\": 3000000");  // 8 blocks of 368640 B
  loom_backend* b = nullptr;
  loom_error* err = lib->api().create(json.data(), json.size(), &b);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(lib->api().error_code(err), LOOM_ERR_RESOURCE_EXHAUSTED);
  const std::string msg = lib->api().error_message(err);
  EXPECT_NE(msg.find("holds 7 blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs 16 blocks"), std::string::npos) << msg;
  lib->api().error_free(err);
  EXPECT_EQ(b, nullptr);
}
