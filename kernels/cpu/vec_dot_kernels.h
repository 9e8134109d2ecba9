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
// per super-block, then the shared scalar::k_accumulate).
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
// sum + d*yd*sumi - dmin*yd*summ: the float part of one K-quant super-block.
// Defined in vec_dot_kquants.cpp, built without FMA, and called by every
// ISA's kernel so none can contract it differently: same bits everywhere.
float k_accumulate(float sum, float d, float yd, int sumi, float dmin, int summ);
// Q4_K/Q5_K: sum over the 8 sub-blocks of min[j] * (Q8_K sum of sub-block j).
int k_min_sum(const uint8_t* scales, const int16_t* bsums);
float dot_q4_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q5_k_q8_k(int64_t n, const void* w, const void* a);
float dot_q6_k_q8_k(int64_t n, const void* w, const void* a);
}  // namespace scalar

}  // namespace loom
