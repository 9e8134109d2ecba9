// Internal: the per-ISA kernels behind matmul_fast() (fast_matmul.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace loom::fast {

// Activation row of one token, n = nb*32 values: int8 q[n], then (at
// act_scales_offset(nb)) float d[nb], float s[nb] (= d * sum q) and int32
// sum[nb] (sum of the block's q).
inline size_t act_scales_offset(int64_t nb) { return (size_t(nb) * 32 + 63) & ~size_t{63}; }
inline size_t act_row_bytes(int64_t nb) { return (act_scales_offset(nb) + size_t(nb) * 12 + 63) & ~size_t{63}; }

struct Job {
  enum Kind { kQ4, kQ8 } kind;
  bool has_min;  // Q4_1: m[16] after d[16]
  int zero;      // integer offset of the stored quants (Q4_0: 8)
  const uint8_t* w;
  size_t block_bytes, group_bytes;
  int64_t nb;    // 32-column blocks
  int64_t rows;
  const uint8_t* act;
  size_t act_stride;
  int64_t n_tokens;
  float* y;
  int64_t ldy;
};

#define LOOM_DECLARE_FAST(isa)                                    \
  namespace isa {                                                 \
  void gemm(const Job& job, int64_t g0, int64_t g1);              \
  void quantize(const float* x, uint8_t* dst, int64_t nb);        \
  }
LOOM_DECLARE_FAST(scalar)
LOOM_DECLARE_FAST(avx2)
LOOM_DECLARE_FAST(avx512)
#undef LOOM_DECLARE_FAST

}  // namespace loom::fast
