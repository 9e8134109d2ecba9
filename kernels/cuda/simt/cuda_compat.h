// Device-side CUDA for g++: what a .cu kernel needs to compile and run on the
// CPU under the SIMT executor. Included through kernels/cuda/common/device.cuh
// when LOOM_SIMT_EMULATION is defined; never under nvcc.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "kernels/cuda/simt/executor.h"
#include "kernels/cuda/simt/fp_types.h"
#include "kernels/cuda/simt/runtime.h"
#include "kernels/cuda/simt/shared_array.h"

// ---- built-in variables (per fiber) ---------------------------------------
#define threadIdx (static_cast<const uint3&>(::loom::simt::g_builtins.thread_idx))
#define blockIdx (static_cast<const uint3&>(::loom::simt::g_builtins.block_idx))
#define blockDim (static_cast<const dim3&>(::loom::simt::g_builtins.block_dim))
#define gridDim (static_cast<const dim3&>(::loom::simt::g_builtins.grid_dim))
constexpr int warpSize = 32;

// ---- shared memory ----------------------------------------------------------
// A bare __shared__ would be a per-thread local under g++ (host_defines.h
// makes it empty): make it a compile error that names the fix.
#undef __shared__
#define __shared__ LOOM_SIMT_use_LOOM_SHARED_or_loom_dynamic_smem_instead_of___shared__

// LOOM_SHARED(float, tile, [32][33]): one bounds-checked array per block.
#define LOOM_SHARED(T, name, dims)                            \
  static const char loom_smem_key_##name = 0;                 \
  auto& name = ::loom::simt::shared_var<                      \
      typename ::loom::simt::SharedArray<T dims>::type>(&loom_smem_key_##name)

// The launch's dynamic shared memory (the `extern __shared__` array).
template <class T>
T* loom_dynamic_smem() {
  return static_cast<T*>(::loom::simt::dynamic_smem());
}

// ---- barriers and fences ----------------------------------------------------
inline void __syncthreads(std::source_location loc = std::source_location::current()) {
  ::loom::simt::syncthreads(loc);
}
inline void __threadfence() {}
inline void __threadfence_block() {}

// ---- warp collectives (semantics of PTX shfl.sync / vote.sync) -------------
namespace loom::simt {

enum class ShflMode : int { kIdx, kUp, kDown, kXor };
struct ShflIn {
  uint64_t value;
  int mode, b, c;
};
void combine_shfl(unsigned mask, const LaneInputs& in, void* const out[32], const char* name,
                  std::source_location loc);
void combine_vote(unsigned mask, const LaneInputs& in, void* const out[32], const char* name,
                  std::source_location loc);

// c packs the segment mask (bits 12:8) and clamp (4:0) as CUDA's headers do.
template <class T>
T shfl(const char* name, unsigned mask, T var, ShflMode mode, int b, int width,
       std::source_location loc) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of a type > 8 bytes");
  if (width < 1 || width > 32 || (width & (width - 1)))
    fail(loc, std::string(name) + ": width must be a power of two in [1, 32]");
  ShflIn in{0, static_cast<int>(mode), b, ((32 - width) << 8) | (mode == ShflMode::kUp ? 0 : 0x1f)};
  std::memcpy(&in.value, static_cast<const void*>(&var), sizeof(T));
  uint64_t out = 0;
  warp_collective(name, mask, &in, sizeof in, &out, &combine_shfl, loc);
  T r;
  std::memcpy(static_cast<void*>(&r), &out, sizeof(T));
  return r;
}

inline unsigned vote(const char* name, unsigned mask, int pred, std::source_location loc) {
  unsigned out = 0;
  warp_collective(name, mask, &pred, sizeof pred, &out, &combine_vote, loc);
  return out;  // ballot of the lanes in mask
}

}  // namespace loom::simt

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
              std::source_location loc = std::source_location::current()) {
  return loom::simt::shfl("__shfl_sync", mask, var, loom::simt::ShflMode::kIdx, src_lane, width,
                          loc);
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 std::source_location loc = std::source_location::current()) {
  return loom::simt::shfl("__shfl_up_sync", mask, var, loom::simt::ShflMode::kUp,
                          static_cast<int>(delta), width, loc);
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   std::source_location loc = std::source_location::current()) {
  return loom::simt::shfl("__shfl_down_sync", mask, var, loom::simt::ShflMode::kDown,
                          static_cast<int>(delta), width, loc);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                  std::source_location loc = std::source_location::current()) {
  return loom::simt::shfl("__shfl_xor_sync", mask, var, loom::simt::ShflMode::kXor, lane_mask,
                          width, loc);
}
inline unsigned __ballot_sync(unsigned mask, int pred,
                              std::source_location loc = std::source_location::current()) {
  return loom::simt::vote("__ballot_sync", mask, pred, loc);
}
inline int __any_sync(unsigned mask, int pred,
                      std::source_location loc = std::source_location::current()) {
  return loom::simt::vote("__any_sync", mask, pred, loc) != 0;
}
inline int __all_sync(unsigned mask, int pred,
                      std::source_location loc = std::source_location::current()) {
  return loom::simt::vote("__all_sync", mask, pred, loc) == mask;
}
inline void __syncwarp(unsigned mask = 0xffffffffu,
                       std::source_location loc = std::source_location::current()) {
  loom::simt::vote("__syncwarp", mask, 0, loc);
}

// ---- atomics: fibers of a grid run on one CPU thread and switch only at
// synchronisation points, so a plain read-modify-write is atomic here. ------
template <class T>
T atomicAdd(T* address, T val) {
  T old = *address;
  *address = old + val;
  return old;
}
template <class T>
T atomicSub(T* address, T val) {
  T old = *address;
  *address = old - val;
  return old;
}
template <class T>
T atomicMax(T* address, T val) {
  T old = *address;
  *address = old < val ? val : old;
  return old;
}
template <class T>
T atomicMin(T* address, T val) {
  T old = *address;
  *address = val < old ? val : old;
  return old;
}
template <class T>
T atomicExch(T* address, T val) {
  T old = *address;
  *address = val;
  return old;
}
template <class T>
T atomicCAS(T* address, T compare, T val) {
  T old = *address;
  if (old == compare) *address = val;
  return old;
}
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  unsigned old = *address;
  *address = old >= limit ? 0 : old + 1;
  return old;
}

// ---- loads and intrinsics ---------------------------------------------------
template <class T>
T __ldg(const T* p) {
  return *p;
}
inline float __expf(float x) { return std::exp(x); }
inline float __exp10f(float x) { return std::pow(10.0f, x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
// CUDA's device min/max overloads for mixed integer code.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }

// ---- launching --------------------------------------------------------------
// loom_launch(kernel, grid, block, smem_bytes, stream, args...): under nvcc
// kernel<<<grid, block, smem_bytes, stream>>>(args...); here the launch is
// checked like the driver would and run (or recorded, during graph capture).
template <class... P, class... A>
cudaError_t loom_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem_bytes,
                        cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "wrong number of kernel arguments");
  loom::simt::Launch launch{grid, block, smem_bytes, {}};
  launch.body = [kernel, params = std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)] {
    std::apply(kernel, params);
  };
  return loom::simt::rt::launch_kernel(reinterpret_cast<const void*>(kernel), std::move(launch),
                                       stream);
}
