// Dequantization of one row of a GGUF tensor to float. Scalar: used for
// embedding lookups and as the reference the tests check the dot products
// against.
#pragma once
#include <cstdint>

#include "kernels/cpu/ggml_type.h"

namespace loom {

// dst[0..n) = the n values encoded at src in `type`. Supported: F32, F16,
// BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K. Throws KernelError for another
// type or when n is not a whole number of blocks.
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace loom
