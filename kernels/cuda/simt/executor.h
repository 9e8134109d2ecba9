// The SIMT executor: runs a CUDA grid on the calling CPU thread.
//
// Blocks run one after another. Inside a block every CUDA thread is a
// cooperative fiber (Boost.Context) that runs until it reaches a
// synchronisation point (__syncthreads, a warp collective) or exits; the
// executor then resumes the next runnable thread. A barrier or collective that
// can never complete is reported as SimtError, never a hang.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <stdexcept>
#include <string>

#include "kernels/cuda/simt/fp_types.h"  // dim3, uint3

namespace loom::simt {

// A kernel bug found by the emulator: barrier deadlock, divergent barrier,
// bad warp-collective mask, shared-memory index out of range, ...
class SimtError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Launch {
  dim3 grid;
  dim3 block;
  size_t dynamic_smem_bytes = 0;
  std::function<void()> body;  // one CUDA thread: calls the kernel with its arguments
};

// Runs every block of the grid; throws SimtError on a kernel bug.
void run_grid(const Launch& launch);

// Order in which the executor resumes runnable threads of a block. Code with a
// missing barrier gives different results under different orders.
enum class Schedule { kForward, kReverse, kShuffled };
void set_schedule(Schedule schedule, uint64_t seed = 0);
Schedule schedule();

// The per-thread CUDA built-ins, updated on every fiber switch.
struct Builtins {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};
extern thread_local Builtins g_builtins;

// --- block-level primitives used by cuda_compat.h and mma.cuh -------------

void syncthreads(std::source_location loc);
// Per-block storage for one LOOM_SHARED declaration site (`key` is unique per
// site); filled with 0xFF bytes (NaN floats) like uninitialised memory.
void* block_shared(const void* key, size_t bytes, size_t align);
void* dynamic_smem();
// True when [p, p + bytes) lies inside one shared-memory allocation of the
// current block.
bool in_shared(const void* p, size_t bytes);

// A warp collective: each lane of `mask` deposits `in` (<= kLaneInBytes);
// once all have arrived, `combine` fills every lane's `out`.
constexpr size_t kLaneInBytes = 48;
struct LaneInputs {
  alignas(8) unsigned char bytes[32][kLaneInBytes];
};
using Combine = void (*)(unsigned mask, const LaneInputs& in, void* const out[32],
                         const char* name, std::source_location loc);
void warp_collective(const char* name, unsigned mask, const void* in, size_t in_bytes, void* out,
                     Combine combine, std::source_location loc);
unsigned lane_id();

// cp.async: copies queue per thread and land at cp_async_wait, as on the GPU
// where they are only guaranteed complete after cp.async.wait_group.
void cp_async(void* smem_dst, const void* src, size_t bytes, std::source_location loc);
void cp_async_commit();
void cp_async_wait(int pending_groups_allowed);

[[noreturn]] void fail(std::source_location loc, const std::string& what);

}  // namespace loom::simt
