// Internal: ISA-specific activation quantizers behind quantize_row(); they
// produce the same bytes as the scalar ones in quantize.cpp.
#pragma once
#include <cstdint>

#include "kernels/cpu/quant_blocks.h"

namespace loom::avx512 {
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb);
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb);
}  // namespace loom::avx512
