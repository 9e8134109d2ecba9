// bench_backend: the CUDA backend end to end on one model (CudaModel +
// CudaExecutor, the same calls the engine makes): prefill tokens/s of one
// `--prompt`-token step, and batch-1 decode tokens/s over `--gen` steps
// (decode-only steps replay the captured CUDA graph). Decode is set against
// the device's measured copy bandwidth: bytes read per token (the weights
// as they sit in device memory, plus the KV cache at the mean position) x
// tokens/s, as a fraction of the ceiling (target >= 85%). One markdown row.
//   bench_backend --model M.gguf [--label NAME] [--prompt 512] [--gen 128] [--reps 3]
// Exit 77 without a usable device (the caller prints the skip).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/cuda_executor.h"
#include "backends/cuda/cuda_model.h"
#include "backends/common/sampling/sampler.h"

namespace {

struct Args {
  std::string model, label;
  int prompt = 512, gen = 128, reps = 3;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") a.model = v;
    else if (k == "--label") a.label = v;
    else if (k == "--prompt") a.prompt = std::atoi(v.c_str());
    else if (k == "--gen") a.gen = std::atoi(v.c_str());
    else if (k == "--reps") a.reps = std::atoi(v.c_str());
  }
  if (a.model.empty() || a.prompt < 1 || a.gen < 1 || a.reps < 1) {
    std::fprintf(stderr, "usage: bench_backend --model M.gguf [--label NAME] [--prompt 512] [--gen 128] [--reps 3]\n");
    std::exit(2);
  }
  if (a.label.empty()) a.label = a.model.substr(a.model.find_last_of('/') + 1);
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// Device-to-device copy of 1 GiB, (read + write) bytes / time: the ceiling.
double copy_bandwidth_gbs() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMemset(a, 1, bytes), "cudaMemset");
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  check(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice), "warm-up copy");
  const int reps = 10;
  check(cudaEventRecord(start), "cudaEventRecord");
  for (int i = 0; i < reps; ++i) check(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice), "copy");
  check(cudaEventRecord(stop), "cudaEventRecord");
  check(cudaEventSynchronize(stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start), cudaEventDestroy(stop), cudaFree(a), cudaFree(b);
  return 2.0 * bytes * reps / (ms * 1e6);
}

// Bytes one decoded token reads from the weights in device memory: every
// tensor but the token table (one row is gathered), plus the LM head when it
// is the tied table. Q4_0/Q4_1/Q8_0 stay quantized on the device (same bytes
// as the file), F32 norms stay F32, everything else is stored as fp16
// (backends/cuda/README.md).
double weight_bytes_per_token(const loom::CudaModel& m) {
  double total = 0;
  for (const auto& t : m.file().tensors()) {
    double bytes = double(t.n_bytes);
    if (t.type != loom::GgmlType::Q4_0 && t.type != loom::GgmlType::Q4_1 && t.type != loom::GgmlType::Q8_0 &&
        t.type != loom::GgmlType::F32)
      bytes = 2.0 * double(t.n_elements);
    if (t.name != "token_embd.weight" || m.config().tied_embeddings) total += bytes;
  }
  return total;
}

// Runs one step for a single sequence (blocks 0, 1, 2... in order) and
// returns the sampled token.
class OneSequence {
 public:
  OneSequence(loom::CudaExecutor& exec, int32_t block_size, uint64_t id)
      : exec_(exec), block_size_(block_size), id_(id), sampler_(greedy()) {}

  int32_t step(const std::vector<int32_t>& tokens) {
    loom::sched::StepPlan plan;
    loom::sched::ScheduledSeq s;
    s.id = id_;
    s.tokens = tokens;
    s.start_pos = pos_;
    const int32_t blocks = (pos_ + int32_t(tokens.size()) + block_size_ - 1) / block_size_;
    for (int32_t b = 0; b < blocks; ++b) s.block_table.push_back(b);
    s.sample = true;
    s.logits_row = 0;
    plan.step_id = ++step_id_;
    plan.seqs.push_back(std::move(s));
    plan.num_logits_rows = 1;
    const loom::RowSampling row{&sampler_, 0, false};
    const auto results = exec_.execute(plan, std::span<const loom::RowSampling>(&row, 1));
    pos_ += int32_t(tokens.size());
    return results.at(0).token;
  }
  int32_t position() const { return pos_; }

 private:
  static loom::sampling::SamplingParams greedy() {
    loom::sampling::SamplingParams p;
    p.temperature = 0;
    return p;
  }
  loom::CudaExecutor& exec_;
  int32_t block_size_;
  uint64_t id_, step_id_ = 0;
  int32_t pos_ = 0;
  loom::sampling::Sampler sampler_;
};

struct Speed {
  double prefill_tps = 0, decode_tps = 0;
  int64_t graph_steps = 0;
};

// Like llama-bench: random prompt ids (past the specials), best of reps.
Speed measure(loom::CudaModel& model, loom::CudaExecutor& exec, const Args& a) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int32_t> token(3, model.config().n_vocab - 1);
  std::vector<int32_t> prompt(a.prompt);
  Speed best;
  for (int r = 0; r < a.reps; ++r) {
    for (auto& t : prompt) t = token(rng);
    OneSequence pre(exec, model.block_size(), 2 * r + 1);
    auto t0 = std::chrono::steady_clock::now();
    pre.step(prompt);
    best.prefill_tps = std::max(best.prefill_tps, a.prompt / seconds_since(t0));

    OneSequence dec(exec, model.block_size(), 2 * r + 2);
    int32_t next = dec.step({token(rng), token(rng), token(rng), token(rng)});
    next = dec.step({next});  // first graph replay outside the timing
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.gen; ++i) next = dec.step({next});
    best.decode_tps = std::max(best.decode_tps, a.gen / seconds_since(t0));
  }
  best.graph_steps = exec.graph_steps();
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const auto probe = loom::cuda_probe();
  if (!probe.usable || probe.emulated) {
    std::printf("bench_backend: SKIPPED, no usable CUDA device: %s\n", probe.reason.c_str());
    return 77;
  }
  try {
    const double ceiling = copy_bandwidth_gbs();
    loom::CudaModelOptions o;
    o.max_batch_tokens = std::max(a.prompt, 16);
    o.max_num_seqs = 4;
    o.max_context = a.prompt + a.gen + 32;
    o.graph_batch_sizes = {1};
    o.print_memory_plan = false;
    const auto t0 = std::chrono::steady_clock::now();
    auto model = loom::CudaModel::load(a.model, o);
    const double load_s = seconds_since(t0);
    loom::CudaExecutor exec(*model);
    const Speed s = measure(*model, exec, a);

    const auto& c = model->config();
    const double mean_ctx = 5 + a.gen / 2.0;  // 4 prompt tokens + 1 warm-up step, then gen steps
    const double kv_bytes = mean_ctx * c.n_layers * 2.0 * c.kv_dim() * 2;  // K and V, fp16
    const double bytes = weight_bytes_per_token(*model) + kv_bytes;
    const double achieved = s.decode_tps * bytes / 1e9;
    const double pct = 100.0 * achieved / ceiling;
    std::printf("bench_backend: %s on %s, loaded in %.1f s, %lld graph steps\n", a.label.c_str(),
                probe.device.c_str(), load_s, static_cast<long long>(s.graph_steps));
    std::printf("| model | pp%d tok/s | tg%d tok/s | MB read/token | decode GB/s | copy ceiling GB/s | %% of ceiling | target | result |\n",
                a.prompt, a.gen);
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
    std::printf("| %s | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f%% | >= 85%% | %s |\n", a.label.c_str(), s.prefill_tps,
                s.decode_tps, bytes / 1e6, achieved, ceiling, pct, pct >= 85 ? "PASS" : "FAIL");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_backend: %s\n", e.what());
    return 1;
  }
  return 0;
}
