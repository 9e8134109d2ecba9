// Prefill and decode speed of the CPU runtime on a GGUF model, beside the
// machine's measured memory read bandwidth (the decode ceiling).
//   bench_model --model M.gguf [--threads 1,2] [--prompt 512] [--gen 128] [--reps 3]
//               [--numerics exact|fast]
// Prints one row per thread count; bench/model/run.sh adds llama-bench's rows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cpu/cpu_model.h"
#include "bench/kernels/read_bandwidth.h"

namespace {

struct Args {
  std::string model;
  std::vector<int> threads{1, 2};
  int prompt = 512;
  int gen = 128;
  int reps = 3;
  loom::Numerics numerics = loom::Numerics::kExact;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") a.model = v;
    else if (k == "--prompt") a.prompt = std::stoi(v);
    else if (k == "--gen") a.gen = std::stoi(v);
    else if (k == "--reps") a.reps = std::stoi(v);
    else if (k == "--numerics") {
      const auto n = loom::parse_numerics(v);
      if (!n) {
        std::fprintf(stderr, "bench_model: --numerics must be exact or fast, got %s\n", v.c_str());
        std::exit(2);
      }
      a.numerics = *n;
    }
    else if (k == "--threads") {
      a.threads.clear();
      std::stringstream ss(v);
      for (std::string t; std::getline(ss, t, ',');) a.threads.push_back(std::stoi(t));
    }
  }
  if (a.model.empty()) {
    std::fprintf(stderr, "usage: bench_model --model M.gguf [--threads 1,2] [--prompt 512] [--gen 128] [--reps 3] [--numerics exact|fast]\n");
    std::exit(2);
  }
  return a;
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Speed {
  double prefill_tps = 0, decode_tps = 0;
};

// Like llama-bench: random token ids, best of `reps` runs.
Speed measure(loom::CpuModel& model, const Args& a) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> token(0, model.config().n_vocab - 1);
  std::vector<int32_t> prompt(a.prompt);
  for (auto& t : prompt) t = token(rng);
  Speed best;
  for (int r = 0; r < a.reps; ++r) {
    loom::SingleSequence seq(model);
    auto t0 = std::chrono::steady_clock::now();
    seq.feed(prompt, loom::LogitsWanted::kLast);
    best.prefill_tps = std::max(best.prefill_tps, a.prompt / seconds(t0));
    seq.reset();
    int32_t next = token(rng);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.gen; ++i) seq.feed(std::span<const int32_t>(&next, 1));
    best.decode_tps = std::max(best.decode_tps, a.gen / seconds(t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::printf("| engine | threads | pp%d tok/s | tg%d tok/s | weights read/token | read BW GB/s | decode %% of BW |\n",
              a.prompt, a.gen);
  std::printf("|---|---|---|---|---|---|---|\n");
  for (int t : a.threads) {
    loom::CpuModelOptions o;
    o.threads = t;
    o.max_context = a.prompt + a.gen + 16;
    o.numerics = a.numerics;
    auto model = loom::CpuModel::load(a.model, o);
    const double bw = loom::bench::measure_read_bandwidth(t);
    const Speed s = measure(*model, a);
    // Fast numerics reads repacked copies of the Q4_0/Q4_1/Q8_0 matrices, each
    // as many bytes as the file's tensor, and the file's own for the others.
    const bool fast = a.numerics == loom::Numerics::kFast;
    const double mb = model->weight_bytes() / 1e6;
    std::printf("| %s | %d | %.1f | %.1f | %.1f MB | %.1f | %.0f%% |\n", fast ? "loom (fast)" : "loom", t, s.prefill_tps, s.decode_tps, mb,
                bw, 100.0 * s.decode_tps * mb / 1e3 / bw);
    std::fflush(stdout);
  }
  return 0;
}
