#include "read_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace loom::bench {
namespace {

// Sums 64-bit words with 8 independent accumulators so the loop is bound by
// loads, not by the add chain; the compiler vectorizes it.
uint64_t stream_sum(const uint64_t* p, size_t n) {
  uint64_t acc[8] = {};
  for (size_t i = 0; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

}  // namespace

double measure_read_bandwidth(int threads) {
  constexpr size_t kBytes = size_t{256} << 20;
  const size_t words = kBytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
  std::memset(buf.get(), 1, kBytes);  // touch every page before timing
  std::vector<uint64_t> sinks(threads);
  double best = 0;
  for (int pass = 0; pass < 4; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    const size_t slice = words / threads;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sinks[t] += stream_sum(buf.get() + t * slice, slice); });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, double(kBytes) / s / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t v : sinks) keep = keep + v;
  return best;
}

}  // namespace loom::bench
