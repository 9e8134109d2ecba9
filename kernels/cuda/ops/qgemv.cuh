// W4A16 / W8A16 GEMV and small-batch GEMM: y[m][n] = sum_k x[m][k] * W[n][k]
// for batch M <= 16, W a Q4_0 / Q4_1 / Q8_0 matrix in the repacked layout of
// quant_repack.h (quants stay 4/8-bit in device memory), x fp16, fp32
// accumulation, y fp16 or fp32.
//
// Launch: 128 threads (4 warps) per block, one warp per output row n. Lane l
// walks the row's 32-element blocks l, l+32, ..., two at a time (two
// independent 16-byte weight loads in flight per lane); a Q4 block is one
// 16-byte load, a Q8 block two. Each block is decoded once to 32 floats in
// registers and dotted with the M activation rows (4 x 16-byte __ldg loads per
// row, L1/L2-resident and shared by all warps). A shuffle butterfly reduces
// the 32 lane partials per m. No shared memory is used, so no bank conflicts.
// Instantiated for M tiers 1, 4, 8, 16 (runtime dispatch on batch).
#pragma once

#include <cstdint>

#include "kernels/cpu/ggml_type.h"
#include "kernels/cuda/common/device.cuh"
#include "kernels/cuda/ops/act_type.cuh"

namespace loom::cuda {

// Device view of a repacked matrix (see quant_repack.h for the layout).
struct QuantMatrixView {
  GgmlType type = GgmlType::Q4_0;  // Q4_0, Q4_1 or Q8_0
  int32_t n_rows = 0;              // N (output features)
  int32_t k = 0;                   // K (input features), a multiple of 32
  const uint8_t* qs = nullptr;     // [N][K/32][16] (Q4) or [N][K/32][32] (Q8) bytes, 16-byte aligned
  const __half* d = nullptr;       // [N][K/32] block scales
  const __half* m = nullptr;       // [N][K/32] block mins (Q4_1 only)
};

constexpr int32_t kQGemvMaxBatch = 16;

// x:   [batch][K] fp16, 16-byte aligned (K % 32 == 0 keeps rows aligned).
// y:   [batch][N] in y_type.
// batch in [1, 16]. Returns cudaErrorInvalidValue on bad arguments.
cudaError_t launch_qgemv(const QuantMatrixView& w, const __half* x, int32_t batch, void* y,
                         ActType y_type, cudaStream_t stream);

}  // namespace loom::cuda
