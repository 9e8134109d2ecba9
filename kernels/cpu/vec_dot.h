// Dot product of one weight row with one activation row, per ISA.
// The weight row is n elements in its GGUF type; the activation row is the
// same n elements already in activation_type(weight type) (see quantize.h).
// Every ISA sums in the order of llama.cpp's AVX2 kernels (the one its
// AVX-512 build runs too): per block of 32, eight exact integer sums of 4
// consecutive products, each folded into its own float lane by
// fma(d_w * d_a, sum, lane); the 8 lanes are added as hsum_float_8 does, then
// (Q4_1) the separately fused sum of m_w * s_a. So the scalar, AVX2 and
// AVX-512 kernels give the same bits, and the same as llama.cpp (see
// ggml_compat.h for why that matters). Its matmuls of >= 2 columns (prefill)
// take llamafile's tinyBLAS_Q0_AVX for Q4_0/Q5_0/Q8_0 weights, which per
// output sums in this same order (d_w*d_a, 8 lanes of 4-product sums, fma,
// hsum): so one order serves decode and prefill. (Q5_0 has no repacked or
// AMX path in llama.cpp's CPU backend either.)
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/ggml_type.h"
#include "kernels/cpu/isa.h"

namespace loom {

// Returns sum_k W[k] * A[k] (n a whole number of blocks of both types).
using VecDotFn = float (*)(int64_t n, const void* weights, const void* activations);

// Per activation block, filled once per token and matmul call for the GEMM
// panels: d = the block's scale; s = Q8_1's d*sum(q) (for Q4_1 weights);
// corr[g] = c * sum(q[4g..4g+3]), the integer correction of lane g for weights
// stored with an unsigned offset c (8 for Q4_0, 16 for Q5_0, 128 for Q8_0).
struct ActBlockInfo {
  float d;
  float s;
  int32_t corr[8];
};

// A GEMM panel: up to kPanelRows weight rows, one per register lane, times any
// number of tokens. Each weight block is unpacked once and reused for every
// token. Per (row, token) output the arithmetic is the fixed order above, so
// the result does not depend on the row's panel neighbours, the token count
// or the token's position.
inline constexpr int kPanelRows = 16;
struct GemmKernel {
  // info[0 .. n/32) for one activation row (activation_type of the weights).
  void (*prepare)(int64_t n, const void* activations, ActBlockInfo* info);
  // out[t * ldo + r] = dot(weight row r at weights + r * w_stride, activation
  // row t at activations + t * a_stride) for r < rows (1..kPanelRows), t <
  // n_tokens; info for token t at info + t * info_stride. w_stride * 16 must
  // fit in int32 (see gemm_kernel()).
  void (*panel)(int64_t n, const void* weights, size_t w_stride, int rows, const void* activations,
                size_t a_stride, const ActBlockInfo* info, size_t info_stride, int64_t n_tokens, float* out,
                int64_t ldo);
  // matmul takes the panel from this many tokens on (the same bits either way).
  int64_t min_tokens = 1;
};

// The kernel for `weight_type` on `isa` (falls back to a narrower ISA where a
// type has no wider kernel). Throws KernelError for an unsupported type or an
// ISA the CPU lacks.
VecDotFn vec_dot_fn(GgmlType weight_type, Isa isa);
inline VecDotFn vec_dot_fn(GgmlType weight_type) { return vec_dot_fn(weight_type, active_isa()); }

// llama.cpp's x86 CPU backend picks a K-quant kernel, and with it the order
// of the float sums, by the number of tokens in the batch: Q4_K through its
// repacked GEMM for the first n - n % 4 tokens (GEMV for the rest), Q6_K
// through its tiled matmul when n >= 8 (vec_dot below). Exact numerics follow
// it: tokens [0, head_tokens) take `head`, the rest `tail`; for every other
// type head_tokens is 0 and tail is vec_dot_fn's kernel.
struct BatchDots {
  VecDotFn head;
  int64_t head_tokens;
  VecDotFn tail;
};
int64_t batch_head_tokens(GgmlType weight_type, int64_t n_tokens);
BatchDots batch_dots(GgmlType weight_type, Isa isa, int64_t n_tokens);

// The GEMM panel kernel for `weight_type` on `isa`, or nullptr where there is
// none (then matmul calls batch_dots' kernels per output). Where one exists,
// its outputs equal those of batch_dots(weight_type, isa, n_tokens) for the
// same tokens, bit for bit.
const GemmKernel* gemm_kernel(GgmlType weight_type, Isa isa);

}  // namespace loom
