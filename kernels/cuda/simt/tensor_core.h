// Emulated warp-level matrix instructions (mma.sync, ldmatrix) for
// kernels/cuda/common/mma.cuh. Fragment layouts follow the PTX ISA,
// "Matrix Fragments for mma.m16n8k16 with floating point type" and
// "Warp-level matrix load instruction: ldmatrix".
#pragma once

#include <cstdint>
#include <source_location>

namespace loom::simt {

// D (16x8 f32) = A (16x16 f16, row) * B (16x8 f16, col) + C, per-lane fragments.
void mma_m16n8k16_f16f32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                         std::source_location loc = std::source_location::current());

// Four 8x8 b16 matrices; lanes 8j..8j+7 give the row addresses of matrix j.
void ldmatrix_x4(uint32_t r[4], const void* smem_row,
                 std::source_location loc = std::source_location::current());

}  // namespace loom::simt
