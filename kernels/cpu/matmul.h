// y = W x for a quantized (or float) weight matrix and a batch of float
// activations. Decode (n_tokens = 1) is a GEMV, prefill a GEMM; both take
// this path.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/ggml_type.h"

namespace loom {

class ThreadPool;
struct PackedWeights;  // fast_matmul.h

// A weight matrix as stored in GGUF: rows = output features, cols = input
// features (ggml ne[0]); row r is `cols` elements in `type` encoding starting
// at data + r * row_stride bytes.
struct WeightView {
  GgmlType type;
  const void* data;
  int64_t rows;
  int64_t cols;
  size_t row_stride;
  // Set in "fast" numerics (fast_matmul.h): the same matrix repacked at load
  // time; matmul() then runs matmul_fast() on it instead.
  const PackedWeights* packed = nullptr;
};

// y[t*ldy + r] = sum_k W[r,k] * x[t*ldx + k] for t < n_tokens, r < rows.
// Each token's activations are quantized once to activation_type(w.type),
// then each output is exactly one vec_dot (active ISA) of a weight row and a
// token: results are bit-identical whatever n_tokens, ldx/ldy, the pool size
// or the other tokens in the batch. pool may be null (single thread).
// With w.packed set it is matmul_fast(*w.packed, ...) instead (reordered
// sums, not bit-equal with the above).
// Throws KernelError on bad shapes (cols not a whole number of blocks,
// row_stride too small, ldx < cols, ldy < rows) or an unsupported type.
void matmul(const WeightView& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
            int64_t ldy, ThreadPool* pool);

}  // namespace loom
