// Half-precision types for emulation builds, taken from the CUDA toolkit's own
// headers (their host code paths compile with g++).
//
// cuda_fp16.h pulls in cuda_runtime_api.h through vector_functions.h; an
// emulation build must not see the real runtime API (our emulated one lives in
// loom::simt::rt and would be ambiguous with it), so its include guards are
// set first. What remains is host_defines.h (__device__, __forceinline__ ...),
// vector_types.h (dim3, uint3, float4 ...) and the fp16/bf16 types.
#pragma once

#if defined(__CUDA_RUNTIME_API_H__) && !defined(LOOM_SIMT_BLOCKED_RUNTIME_API)
#error "emulation build: include kernels/cuda/common/device.cuh before any CUDA header"
#endif
#define LOOM_SIMT_BLOCKED_RUNTIME_API 1
#define __CUDA_RUNTIME_API_H__ 1
#define __CUDA_RUNTIME_H__ 1

#include <cuda_bf16.h>
#include <cuda_fp16.h>
