// cuBLAS for Loom code: the real <cublas_v2.h>, or the emulated subset
// (kernels/cuda/simt/cublas.h) in LOOM_SIMT_EMULATION builds.
#pragma once

#include "kernels/cuda/common/device.cuh"

#if defined(LOOM_SIMT_EMULATION) && !defined(__CUDACC__)
#include "kernels/cuda/simt/cublas.h"
#else
#include <cublas_v2.h>
#endif
