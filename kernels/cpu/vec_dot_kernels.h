// Internal: the per-ISA dot kernels behind vec_dot_fn(). Each takes
// (n, weight row, activation row) as VecDotFn does. The avx2/avx512 ones live
// in files built with those flags and must only run where cpuid says so.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/vec_dot.h"

namespace loom {

#define LOOM_DECLARE_DOTS(isa)                                          \
  namespace isa {                                                       \
  float dot_f32(int64_t n, const void* w, const void* a);              \
  float dot_f16(int64_t n, const void* w, const void* a);              \
  float dot_bf16(int64_t n, const void* w, const void* a);             \
  float dot_q4_0_q8_0(int64_t n, const void* w, const void* a);        \
  float dot_q4_1_q8_1(int64_t n, const void* w, const void* a);        \
  float dot_q5_0_q8_0(int64_t n, const void* w, const void* a);        \
  float dot_q8_0_q8_0(int64_t n, const void* w, const void* a);        \
  }
LOOM_DECLARE_DOTS(scalar)
LOOM_DECLARE_DOTS(avx2)
LOOM_DECLARE_DOTS(avx512)
#undef LOOM_DECLARE_DOTS

// 16-row GEMM panels (see GemmKernel in vec_dot.h); the AVX-512 dot kernels
// of these types are the same panels with one row and one token.
namespace avx512 {
extern const GemmKernel kGemmQ4_0;
extern const GemmKernel kGemmQ4_1;
extern const GemmKernel kGemmQ5_0;
extern const GemmKernel kGemmQ8_0;
// K-quants (gemm_kquants_avx512.cpp): prefill only (min_tokens); the one-row
// dot kernels below give the same bits.
extern const GemmKernel kGemmQ4_K;
extern const GemmKernel kGemmQ6_K;
}  // namespace avx512

// K-quants x Q8_K on every ISA, bit-identical to scalar (exact integer sums
// per super-block, then the shared float step below).
#define LOOM_DECLARE_KQUANT_DOTS(isa)                             \
  namespace isa {                                                 \
  float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);  \
  float dot_q5_k_q8_k(int64_t n, const void* w, const void* a);  \
  float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);  \
  }
LOOM_DECLARE_KQUANT_DOTS(avx2)
LOOM_DECLARE_KQUANT_DOTS(avx512)
#undef LOOM_DECLARE_KQUANT_DOTS
namespace scalar {
// The float part of the K-quant kernels, defined in vec_dot_kquants.cpp and
// called by every ISA's kernel (or mirrored lane for lane with the same
// fma/add sequence) so that all give the same bits.
//
// Q5_K: sum + d*yd*sumi - dmin*yd*summ per super-block, no fma.
float k_accumulate(float sum, float d, float yd, int sumi, float dmin, int summ);

// Q4_K in llama.cpp's x86 order: with AVX2 it repacks every Q4_K matrix whose
// row count is a multiple of 8 (ggml-cpu/repack.cpp, q4_K_8x8) and keeps two
// running sums per output, each step one fma:
//   acc = fma(float(sumi), d*yd, acc), acc_min = fma(float(summ), dmin*yd, acc_min),
// returning acc - acc_min. Its GEMV (a batch's last n % 4 tokens, and
// decode) takes one step per super-block; its GEMM (the batch's first
// n - n % 4 tokens) one per pair of sub-blocks (64 elements), so the
// "grouped" kernels below take four steps per super-block.
struct Q4KSums {
  float acc = 0;
  float acc_min = 0;
};
void q4k_add(Q4KSums& s, float d, float dmin, float yd, int sumi, int summ);
float q4k_result(const Q4KSums& s);

// Q6_K in ggml_vec_dot_q6_K_q8_K's AVX2 order: per super-block 8 int32
// lanes, lane l holding bytes 4l..4l+3 of every 32-element chunk (products
// times their 16-element group's scale) minus 32 * (sc[2l]*bsum[2l] +
// sc[2l+1]*bsum[2l+1]); each lane keeps its own float sum across
// super-blocks, acc[l] = fma(d*yd, float(lane[l]), acc[l]); the 8 sums are
// folded as hsum_float_8 does: r_i = acc[i] + acc[i+4], (r0 + r2) + (r1 + r3).
// With 8 or more tokens llama.cpp takes its tiled K-quant matmul instead
// (ggml-cpu/tiled, AVX-512 VNNI microkernel) for Q6_K: per super-block
// r = float(sumi) * d, then acc = fma(r, yd, acc) (its source writes a
// multiply and an add; GCC's default -ffp-contract=fast fuses them).
float q6k_tiled_add(float acc, float d, float yd, int sumi);
constexpr int kQ6KLanes = 8;
void q6k_lanes(const void* block_q6_k, const void* block_q8_k, int32_t lanes[kQ6KLanes]);
void q6k_add(float acc[kQ6KLanes], float dyd, const int32_t lanes[kQ6KLanes]);
float q6k_result(const float acc[kQ6KLanes]);

// Q4_K/Q5_K: sum over the 8 sub-blocks of min[j] * (Q8_K sum of sub-block j).
int k_min_sum(const uint8_t* scales, const int16_t* bsums);
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q4_k_q8_k_grouped(int64_t n, const void* w, const void* a);
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k_tiled(int64_t n, const void* w, const void* a);
}  // namespace scalar
namespace avx2 {
float dot_q4_k_q8_k_grouped(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k_tiled(int64_t n, const void* w, const void* a);
}  // namespace avx2

}  // namespace loom
