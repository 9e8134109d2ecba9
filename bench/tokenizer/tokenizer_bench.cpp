// Tokens/s of encode, decode and the incremental detokenizer on ~4 MB of
// deterministic English prose (shuffled sentences), one thread.
// Model: $LOOM_TEST_MODEL or ~/.cache/loom/SmolLM2-135M-Instruct.Q4_1.gguf.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/common/tokenizer/detokenizer.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "tests/tokenizer/vocab_loader.h"

namespace {

const char* kSentences[] = {
    "The committee met on Tuesday to discuss the budget for the coming year.",
    "She walked along the river, watching the light fade behind the hills.",
    "Researchers found that the new method reduced errors by almost a third.",
    "It's not clear whether they'll finish the bridge before winter arrives.",
    "A small cafe on the corner serves the best coffee in town, locals say.",
    "The algorithm sorts the records by date and then removes duplicates.",
    "After the storm, volunteers cleared branches from the village roads.",
    "He couldn't remember where he had left his keys, so he checked twice.",
    "Prices rose sharply in March, driven mostly by energy and transport.",
    "The library extended its opening hours to help students during exams.",
    "Our results suggest that sleep quality matters more than its duration.",
    "They've planted olive trees along the southern edge of the property.",
};

std::string make_prose(size_t bytes) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<size_t> pick(0, std::size(kSentences) - 1);
  std::string text;
  int in_paragraph = 0;
  while (text.size() < bytes) {
    text += kSentences[pick(rng)];
    text += ++in_paragraph % 6 == 0 ? "\n\n" : " ";
  }
  return text;
}

struct Fixture {
  std::unique_ptr<loom::Tokenizer> tok;
  std::string text;
  std::vector<int32_t> ids;
  static Fixture& get() {
    static Fixture f = [] {
      Fixture x;
      const char* env = std::getenv("LOOM_TEST_MODEL");
      x.tok = loom::Tokenizer::create(loom::test::load_vocab_from_gguf(env && *env ? env : LOOM_DEFAULT_BENCH_MODEL));
      x.text = make_prose(4 << 20);
      x.ids = x.tok->encode(x.text, false, false);
      return x;
    }();
    return f;
  }
};

void BM_Encode(benchmark::State& state) {
  auto& f = Fixture::get();
  size_t n = 0;
  for (auto _ : state) {
    auto ids = f.tok->encode(f.text, false, false);
    n += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(state.iterations() * f.text.size()));
}

// Short prompts: the per-call cost (no cross-call word cache).
void BM_EncodeSentence(benchmark::State& state) {
  auto& f = Fixture::get();
  const std::string s = f.text.substr(0, 2000);
  size_t n = 0;
  for (auto _ : state) {
    auto ids = f.tok->encode(s, true, true);
    n += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
}

void BM_Decode(benchmark::State& state) {
  auto& f = Fixture::get();
  for (auto _ : state) benchmark::DoNotOptimize(f.tok->decode(f.ids).data());
  state.counters["tokens/s"] =
      benchmark::Counter(double(f.ids.size() * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_IncrementalDetokenize(benchmark::State& state) {
  auto& f = Fixture::get();
  for (auto _ : state) {
    loom::IncrementalDetokenizer d(*f.tok);
    size_t bytes = 0;
    for (int32_t id : f.ids) bytes += d.push(id).size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(f.ids.size() * state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeSentence)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IncrementalDetokenize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
