// Quantization of float rows into the ggml block formats. The matmul uses it
// to quantize activations once per token, the way llama.cpp does (so logits
// match): Q8_0 activations for Q4_0/Q5_0/Q8_0 weights, Q8_1 for Q4_1, Q8_K for
// K-quants, and F16/BF16/F32 copies for float weights. Rounding is
// round-half-to-even, as llama.cpp's x86 path does.
#pragma once
#include <cstdint>

#include "kernels/cpu/ggml_type.h"

namespace loom {

// The format activations are quantized to for a dot product with `weight_type`
// weights. Throws KernelError when the weight type has no dot kernel.
GgmlType activation_type(GgmlType weight_type);

// dst = the n floats at x encoded as `type` (ggml_row_bytes(type, n) bytes).
// Supports F32, F16, BF16, Q8_0, Q8_1, Q8_K (activation formats) and Q4_0,
// Q4_1, Q5_0, Q8_0 (llama.cpp's reference weight quantizers, used by
// tests/benches).
// Throws KernelError for another type or a partial block.
void quantize_row(GgmlType type, const float* x, void* dst, int64_t n);

}  // namespace loom
