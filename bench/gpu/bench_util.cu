#include <algorithm>
#include <cmath>

#include "bench/gpu/bench_util.cuh"

namespace loom::gpu_bench {
namespace {

__device__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__global__ void random_words_kernel(uint64_t* p, size_t words, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < words; i += size_t(gridDim.x) * blockDim.x)
    p[i] = mix64(seed * 0x9E3779B97F4A7C15ull + i);
}

__global__ void random_halves_kernel(__half* p, size_t n, float lo, float hi, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float u = (mix64(seed * 0x9E3779B97F4A7C15ull + i) >> 40) * (1.0f / 16777216.0f);
    p[i] = __float2half(lo + (hi - lo) * u);
  }
}

__global__ void half_bits_kernel(__half* p, size_t n, uint16_t bits) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    p[i] = __ushort_as_half(bits);
}

constexpr int kFillBlocks = 1024, kFillThreads = 256;

}  // namespace

void fill_random_bytes(void* p, size_t bytes, uint64_t seed) {
  random_words_kernel<<<kFillBlocks, kFillThreads>>>(static_cast<uint64_t*>(p), bytes / 8, seed);
  LOOM_BENCH_CHECK(cudaGetLastError());
}

void fill_random_halves(__half* p, size_t count, float lo, float hi, uint64_t seed) {
  random_halves_kernel<<<kFillBlocks, kFillThreads>>>(p, count, lo, hi, seed);
  LOOM_BENCH_CHECK(cudaGetLastError());
}

void fill_half_bits(__half* p, size_t count, uint16_t bits) {
  half_bits_kernel<<<kFillBlocks, kFillThreads>>>(p, count, bits);
  LOOM_BENCH_CHECK(cudaGetLastError());
}

DeviceInfo device_info() {
  cudaDeviceProp prop{};
  LOOM_BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  return {prop.name, prop.multiProcessorCount, prop.major * 10 + prop.minor, size_t(prop.l2CacheSize),
          prop.totalGlobalMem};
}

int rotation_copies(size_t bytes_per_call, size_t l2_bytes, int max_copies) {
  const size_t want = 2 * l2_bytes / std::max<size_t>(bytes_per_call, 1) + 1;
  return static_cast<int>(std::clamp<size_t>(want, 1, max_copies));
}

double time_us(const std::function<void(int, cudaStream_t)>& enqueue, int iters, int reps) {
  cudaStream_t s;
  LOOM_BENCH_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
    for (int i = 0; i < iters; ++i) enqueue(i, s);
    if (cudaStreamEndCapture(s, &graph) != cudaSuccess ||
        cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess)
      exec = nullptr;
  }
  cudaGetLastError();  // a failed capture leaves an error behind; the fallback below re-checks
  const auto run = [&] {
    if (exec) {
      LOOM_BENCH_CHECK(cudaGraphLaunch(exec, s));
    } else {
      for (int i = 0; i < iters; ++i) enqueue(i, s);
    }
  };
  cudaEvent_t start, stop;
  LOOM_BENCH_CHECK(cudaEventCreate(&start));
  LOOM_BENCH_CHECK(cudaEventCreate(&stop));
  run();  // warm-up
  LOOM_BENCH_CHECK(cudaStreamSynchronize(s));
  LOOM_BENCH_CHECK(cudaEventRecord(start, s));
  for (int r = 0; r < reps; ++r) run();
  LOOM_BENCH_CHECK(cudaEventRecord(stop, s));
  LOOM_BENCH_CHECK(cudaEventSynchronize(stop));
  LOOM_BENCH_CHECK(cudaGetLastError());
  float ms = 0;
  LOOM_BENCH_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  cudaStreamDestroy(s);
  return 1000.0 * ms / (double(iters) * reps);
}

void ResultTable::print_header() const {
  std::printf("| kernel | shape | time us | MB or GFLOP | achieved | ceiling | %% of ceiling | target | result |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
}

void ResultTable::add(Result r) {
  const bool bw = std::string(r.unit) == "GB/s";
  char amount[32], pct[16] = "", ceil[32] = "";
  amount[0] = '\0';
  if (bw) std::snprintf(amount, sizeof amount, "%.2f MB", r.bytes / 1e6);
  if (!bw && r.flops > 0) std::snprintf(amount, sizeof amount, "%.2f GFLOP", r.flops / 1e9);
  if (r.ceiling > 0) {
    std::snprintf(ceil, sizeof ceil, "%.0f %s", r.ceiling, r.unit);
    std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * r.achieved / r.ceiling);
  }
  const char* verdict = r.pass < 0 ? "" : r.pass ? "PASS" : "FAIL";
  if (r.pass == 1) ++passes_;
  if (r.pass == 0) ++fails_;
  std::printf("| %s | %s | %.2f | %s | %.1f %s | %s | %s | %s | %s |\n", r.kernel.c_str(), r.shape.c_str(), r.us,
              amount, r.achieved, r.unit, ceil, pct, r.target.c_str(), verdict);
  std::fflush(stdout);
}

Result bandwidth_result(std::string kernel, std::string shape, double us, double bytes, double ceiling_gbs,
                        double target_frac) {
  Result r;
  r.kernel = std::move(kernel);
  r.shape = std::move(shape);
  r.us = us;
  r.bytes = bytes;
  r.achieved = bytes / (us * 1e3);  // bytes/us * 1e-3 = GB/s
  r.ceiling = ceiling_gbs;
  if (target_frac > 0) {
    char t[32];
    std::snprintf(t, sizeof t, ">= %.0f%% BW", 100 * target_frac);
    r.target = t;
    r.pass = r.achieved >= target_frac * ceiling_gbs;
  }
  return r;
}

}  // namespace loom::gpu_bench
