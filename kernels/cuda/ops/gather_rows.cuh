// Row gather for "logits only for the rows that sample": out[i] = in[rows[i]],
// applied to the final hidden states before the LM-head GEMV/GEMM so the
// vocab-sized product runs only for sampling rows.
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// in:     [n_in][dim] fp16.
// rows:   [n_out] int32 row indices into `in`.
// out:    [n_out][dim] fp16.
// status: optional device int32, set to 1 when an index is outside [0, n_in)
//         (that output row is written as zeros).
// One block per output row; 16-byte copies when dim % 8 == 0 and both
// pointers are 16-byte aligned, else 2-byte copies.
cudaError_t launch_gather_rows(const __half* in, int32_t n_in, int32_t dim, const int32_t* rows,
                               int32_t n_out, __half* out, int32_t* status, cudaStream_t stream);

}  // namespace loom::cuda
