// Dot product of one weight row with one activation row, per ISA.
// The weight row is n elements in its GGUF type; the activation row is the
// same n elements already in activation_type(weight type) (see quantize.h).
// Integer products inside a block are exact; only the float accumulation
// order differs between ISAs, so results agree to float rounding.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/ggml_type.h"
#include "kernels/cpu/isa.h"

namespace loom {

// Returns sum_k W[k] * A[k] (n a whole number of blocks of both types).
using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);

// A register tile: out[t * ldo + r] = dot of weight row r (at weights +
// r * w_stride) and activation row t (at activations + t * a_stride), for
// r < kTileRows and t < the tile's token count. Bit-identical to one VecDotFn
// call per (r, t), but loads and converts each operand once per tile.
inline constexpr int kTileRows = 4;
using VecDotTileFn = void (*)(int64_t n, const void* weights, size_t w_stride, const void* activations,
                              size_t a_stride, float* out, int64_t ldo);

// The kernel for `weight_type` on `isa` (falls back to a narrower ISA where a
// type has no wider kernel). Throws KernelError for an unsupported type or an
// ISA the CPU lacks.
VecDotFn vec_dot_fn(GgmlType weight_type, Isa isa);
inline VecDotFn vec_dot_fn(GgmlType weight_type) { return vec_dot_fn(weight_type, active_isa()); }

// The kTileRows x `tokens` (1 or 2) tile kernel for `weight_type` on `isa`,
// or nullptr where there is none (then call vec_dot_fn per output: same bits).
VecDotTileFn vec_dot_tile_fn(GgmlType weight_type, Isa isa, int tokens);

}  // namespace loom
