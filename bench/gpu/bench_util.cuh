// Shared pieces of bench_kernels (nvcc only): error checks, device buffers
// filled on the device, graph-captured timing with CUDA events, rotation
// over several copies of the inputs so a kernel never re-reads its operands
// from L2 (H100/H200 L2 is 50-60 MB, larger than most single calls here), and
// the result table.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace loom::gpu_bench {

#define LOOM_BENCH_CHECK(expr)                                                               \
  do {                                                                                       \
    const cudaError_t err_ = (expr);                                                         \
    if (err_ != cudaSuccess)                                                                 \
      throw std::runtime_error(std::string(#expr) + ": " + cudaGetErrorString(err_) + " at " + \
                               __FILE__ + ":" + std::to_string(__LINE__));                   \
  } while (0)

// Device allocation freed on destruction.
class DeviceMem {
 public:
  explicit DeviceMem(size_t bytes) : bytes_(bytes) { LOOM_BENCH_CHECK(cudaMalloc(&p_, bytes ? bytes : 1)); }
  ~DeviceMem() { cudaFree(p_); }
  DeviceMem(const DeviceMem&) = delete;
  DeviceMem& operator=(const DeviceMem&) = delete;
  template <class T = void>
  T* as() const { return static_cast<T*>(p_); }
  size_t bytes() const { return bytes_; }

 private:
  void* p_ = nullptr;
  size_t bytes_;
};

// Random bytes (a hash of the index and seed), on the device: fast for GBs.
void fill_random_bytes(void* p, size_t bytes, uint64_t seed);
// count fp16 values uniform in [lo, hi).
void fill_random_halves(__half* p, size_t count, float lo, float hi, uint64_t seed);
// count copies of an fp16 bit pattern (e.g. the Q4 block scale 2^-8 = 0x1C00).
void fill_half_bits(__half* p, size_t count, uint16_t bits);

struct DeviceInfo {
  std::string name;
  int sm_count = 0, cc = 0;
  size_t l2_bytes = 0, total_mem = 0;
};
DeviceInfo device_info();

// How many copies of a call's operands keep the rotation > 2x the L2 size.
int rotation_copies(size_t bytes_per_call, size_t l2_bytes, int max_copies = 32);

// Mean microseconds of one call: enqueue(i, stream) for i = 0..iters-1 is
// captured into a CUDA graph (no launch gaps), replayed once to warm up,
// then timed over `reps` replays with events. Falls back to plain stream
// launches when capture fails (e.g. a library call that cannot be captured).
double time_us(const std::function<void(int, cudaStream_t)>& enqueue, int iters = 40, int reps = 3);

// One row of the table.
struct Result {
  std::string kernel, shape;
  double us = 0;
  double bytes = 0, flops = 0;
  double achieved = 0;  // GB/s or TFLOP/s, per `unit`
  const char* unit = "GB/s";
  double ceiling = 0;   // same unit; 0: no ceiling column
  std::string target;   // e.g. ">= 80% BW", "" for none
  int pass = -1;        // 1 PASS, 0 FAIL, -1 (no target)
};

class ResultTable {
 public:
  void add(Result r);
  void print_header() const;
  int passes() const { return passes_; }
  int fails() const { return fails_; }

 private:
  int passes_ = 0, fails_ = 0;
};

// A bandwidth row: bytes moved in us microseconds against ceiling GB/s;
// target_frac > 0 sets the ">= x% BW" target.
Result bandwidth_result(std::string kernel, std::string shape, double us, double bytes, double ceiling_gbs,
                        double target_frac);

}  // namespace loom::gpu_bench
