// The one header a Loom .cu file includes for CUDA. It picks:
//  - nvcc:                 the real CUDA headers;
//  - LOOM_SIMT_EMULATION:  the SIMT emulator (kernels/cuda/simt), g++ only;
//  - host C++ of a CUDA build (a .cpp that calls launchers): runtime types.
// Either way kernels get LOOM_SHARED, loom_dynamic_smem<T>() and loom_launch.
#pragma once

#if defined(__CUDACC__)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <utility>

// LOOM_SHARED(float, tile, [32][33]) -> __shared__ float tile[32][33]
#define LOOM_SHARED(T, name, dims) __shared__ __align__(16) T name dims

template <class T>
__device__ __forceinline__ T* loom_dynamic_smem() {
  extern __shared__ __align__(16) unsigned char loom_dynamic_smem_bytes[];
  return reinterpret_cast<T*>(loom_dynamic_smem_bytes);
}

template <class... P, class... A>
cudaError_t loom_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem_bytes,
                        cudaStream_t stream, A&&... args) {
  kernel<<<grid, block, smem_bytes, stream>>>(std::forward<A>(args)...);
  return cudaGetLastError();
}

#elif defined(LOOM_SIMT_EMULATION)

#include "kernels/cuda/simt/cuda_compat.h"

#else

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#endif
