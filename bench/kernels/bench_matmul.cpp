// matmul throughput on SmolLM2-135M shapes: GB/s of weights read per second,
// per ISA (scalar / avx2 / avx512) and thread count (1, 2), at n_tokens 1
// (decode, GEMV: memory-bound) and 64 (prefill, GEMM: compute-bound).
// Prints the measured memory read bandwidth first: that is the ceiling for
// decode when weights do not fit in cache.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quantize.h"
#include "kernels/cpu/thread_pool.h"
#include "read_bandwidth.h"

namespace {

using loom::GgmlType;
using loom::Isa;

struct Shape {
  const char* name;
  GgmlType type;
  int64_t rows, cols;
};

// Rows x cols = out x in features, as in the GGUF file.
constexpr Shape kShapes[] = {
    {"attn_q_o_576x576_Q4_1", GgmlType::Q4_1, 576, 576},
    {"attn_kv_192x576_Q4_1", GgmlType::Q4_1, 192, 576},
    {"ffn_up_gate_1536x576_Q4_1", GgmlType::Q4_1, 1536, 576},
    {"ffn_down_576x1536_Q4_1", GgmlType::Q4_1, 576, 1536},
    {"output_49152x576_Q8_0", GgmlType::Q8_0, 49152, 576},
};

// Quantized weights built once per shape from random floats.
const std::vector<uint8_t>& weights_for(size_t shape_index) {
  static std::vector<std::vector<uint8_t>> cache(std::size(kShapes));
  const Shape& s = kShapes[shape_index];
  auto& w = cache[shape_index];
  if (w.empty()) {
    const size_t rb = *loom::ggml_row_bytes(s.type, s.cols);
    w.resize(rb * s.rows);
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.f, 0.05f);
    std::vector<float> row(s.cols);
    for (int64_t r = 0; r < s.rows; ++r) {
      for (auto& v : row) v = nd(rng);
      loom::quantize_row(s.type, row.data(), &w[r * rb], s.cols);
    }
  }
  return w;
}

loom::ThreadPool* pool_for(int threads) {
  static std::unique_ptr<loom::ThreadPool> pools[3];
  if (!pools[threads]) pools[threads] = std::make_unique<loom::ThreadPool>(threads);
  return pools[threads].get();
}

void BM_Matmul(benchmark::State& state, size_t shape_index, Isa isa, int threads, int64_t n_tokens) {
  const Shape& s = kShapes[shape_index];
  if (!loom::isa_supported(isa)) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  loom::set_isa_override(isa);
  const auto& w = weights_for(shape_index);
  const size_t rb = *loom::ggml_row_bytes(s.type, s.cols);
  std::vector<float> x(s.cols * n_tokens, 0.5f), y(s.rows * n_tokens);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : x) v = nd(rng);
  const loom::WeightView view{s.type, w.data(), s.rows, s.cols, rb};
  for (auto _ : state) {
    loom::matmul(view, x.data(), s.cols, n_tokens, y.data(), s.rows, pool_for(threads));
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(w.size()) * state.iterations();
  state.counters["weights_GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["tokens/s"] = benchmark::Counter(double(n_tokens) * state.iterations(), benchmark::Counter::kIsRate);
  loom::set_isa_override(loom::detected_isa());
}

// The cost of one parallel_for with trivial work: what decode pays ~200 times
// per token on top of the math.
void BM_ParallelForOverhead(benchmark::State& state) {
  loom::ThreadPool* pool = pool_for(int(state.range(0)));
  std::atomic<int64_t> sink{0};
  for (auto _ : state)
    pool->parallel_for(64, [&](int64_t b, int64_t e, int) { sink.fetch_add(e - b, std::memory_order_relaxed); });
  benchmark::DoNotOptimize(sink.load());
}
BENCHMARK(BM_ParallelForOverhead)->Arg(1)->Arg(2)->UseRealTime();

// Activation quantization of one 576-wide token (done once per matmul call).
void BM_QuantizeActivations(benchmark::State& state, GgmlType type) {
  std::vector<float> x(576);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : x) v = nd(rng);
  std::vector<uint8_t> out(*loom::ggml_row_bytes(type, 576));
  for (auto _ : state) {
    loom::quantize_row(type, x.data(), out.data(), 576);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK_CAPTURE(BM_QuantizeActivations, q8_0_576, GgmlType::Q8_0);
BENCHMARK_CAPTURE(BM_QuantizeActivations, q8_1_576, GgmlType::Q8_1);

// All matmuls of one SmolLM2-135M decode step (30 layers x q,k,v,o,gate,up,
// down + the output head), each layer with its own weights (92 MB in all, as
// in the real model, so they come from L3/DRAM, not L2): the matmul-only
// ceiling of decode tokens/s. Compare with llama-bench's tg numbers.
struct ModelWeights {
  struct Mat {
    GgmlType type;
    int64_t rows, cols;
    std::vector<uint8_t> data;
  };
  std::vector<Mat> mats;
  ModelWeights() {
    uint64_t seed = 88172645463325252ull;
    auto make = [&](GgmlType type, int64_t rows, int64_t cols) {
      Mat m{type, rows, cols, std::vector<uint8_t>(*loom::ggml_row_bytes(type, cols) * rows)};
      for (auto& b : m.data) seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17, b = uint8_t(seed);
      // Sane fp16 scales: Q4_1 d=0.01, m=-0.08; Q8_0 d=0.001.
      const size_t bb = loom::ggml_type_info(type).block_bytes;
      const uint16_t d = type == GgmlType::Q4_1 ? 0x211F : 0x1419, mn = 0xAD1F;
      for (size_t off = 0; off < m.data.size(); off += bb) {
        std::memcpy(&m.data[off], &d, 2);
        if (type == GgmlType::Q4_1) std::memcpy(&m.data[off + 2], &mn, 2);
      }
      mats.push_back(std::move(m));
    };
    for (int layer = 0; layer < 30; ++layer) {
      make(GgmlType::Q4_1, 576, 576);    // q
      make(GgmlType::Q4_1, 192, 576);    // k
      make(GgmlType::Q4_1, 192, 576);    // v
      make(GgmlType::Q4_1, 576, 576);    // o
      make(GgmlType::Q4_1, 1536, 576);   // gate
      make(GgmlType::Q4_1, 1536, 576);   // up
      make(GgmlType::Q4_1, 576, 1536);   // down
    }
    make(GgmlType::Q8_0, 49152, 576);    // output head
  }
};

void BM_DecodeStepMatmuls(benchmark::State& state) {
  static ModelWeights model;
  loom::ThreadPool* pool = pool_for(int(state.range(0)));
  std::vector<float> x(1536), y(49152);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : x) v = nd(rng);
  for (auto _ : state)
    for (const auto& m : model.mats) {
      const size_t rb = *loom::ggml_row_bytes(m.type, m.cols);
      loom::matmul({m.type, m.data.data(), m.rows, m.cols, rb}, x.data(), m.cols, 1, y.data(), m.rows, pool);
    }
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeStepMatmuls)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void register_all() {
  for (size_t i = 0; i < std::size(kShapes); ++i) {
    const Shape& s = kShapes[i];
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
      for (int threads : {1, 2})
        for (int64_t n_tokens : {1, 16, 64}) {
          if (isa == Isa::Scalar && n_tokens > 1 && s.rows > 10000) continue;  // minutes; adds nothing
          const std::string name = std::string("matmul/") + s.name + "/" + std::string(loom::isa_name(isa)) +
                                   "/threads:" + std::to_string(threads) + "/tokens:" + std::to_string(n_tokens);
          benchmark::RegisterBenchmark(name.c_str(), BM_Matmul, i, isa, threads, n_tokens)->UseRealTime();
        }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::printf("memory read bandwidth (256 MiB streaming sum): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n",
              loom::bench::measure_read_bandwidth(1), loom::bench::measure_read_bandwidth(2));
  std::printf("detected ISA: %s\n", loom::isa_name(loom::detected_isa()).data());
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
