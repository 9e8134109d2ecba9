// Tensor-core and async-copy instructions, the only way kernels use them.
// GPU: inline PTX (sm_80+). Emulation: kernels/cuda/simt/tensor_core.h, which
// implements the fragment layouts of the PTX ISA (documented there).
//
// Fragments of mma_m16n8k16_f16f32 (groupID g = lane >> 2, t = lane % 4;
// a .f16x2 register holds elements 2r (low 16 bits) and 2r+1):
//   a[4]: A 16x16 row-major, element i at row g (+8 for i in {2,3,6,7}),
//         col 2t + (i&1) (+8 for i >= 4)
//   b[2]: B 16x8 (k x n), element i at row 2t + (i&1) (+8 for i >= 2), col g
//   c/d[4]: C/D 16x8 f32, element i at row g (+8 for i >= 2), col 2t + (i&1)
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

#if !defined(__CUDACC__)
#include "kernels/cuda/simt/tensor_core.h"
#endif

namespace loom::cuda {

// d = a * b + c on one warp; all 32 lanes must call it together.
__device__ __forceinline__ void mma_m16n8k16_f16f32(float d[4], const uint32_t a[4],
                                                    const uint32_t b[2], const float c[4]) {
#if defined(__CUDACC__)
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]),
        "f"(c[2]), "f"(c[3]));
#else
  loom::simt::mma_m16n8k16_f16f32(d, a, b, c);
#endif
}

// Loads four 8x8 16-bit matrices from shared memory: lane 8j+i passes the
// (16-byte aligned) address of row i of matrix j; r[j] receives row lane/4,
// columns 2*(lane%4) and 2*(lane%4)+1 of matrix j.
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* smem_row) {
#if defined(__CUDACC__)
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem_row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
#else
  loom::simt::ldmatrix_x4(r, smem_row);
#endif
}

// Starts a 16-byte global -> shared copy; it lands only after a
// cp_async_wait<N>() that covers its commit group.
__device__ __forceinline__ void cp_async_16(void* smem_dst, const void* gmem_src) {
#if defined(__CUDACC__)
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem_src) : "memory");
#else
  loom::simt::cp_async(smem_dst, gmem_src, 16, std::source_location::current());
#endif
}

// Closes the group of cp_async_16 calls issued since the last commit.
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDACC__)
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
  loom::simt::cp_async_commit();
#endif
}

// Waits until at most N most recent commit groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDACC__)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#else
  loom::simt::cp_async_wait(N);
#endif
}

}  // namespace loom::cuda
