// "fast" numerics: y = W x over weights repacked once at load time into an
// interleaved layout (16 rows' 32-element blocks side by side, their scales
// gathered into one vector load),
// with activations quantized once per token to int8 blocks (fp32 scale and
// sum). Sums are reordered freely: results are close to, not bit-equal with,
// matmul() (the llama.cpp order). Types: Q4_0, Q4_1, Q8_0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/cpu/ggml_type.h"
#include "kernels/cpu/matmul.h"

namespace loom {

class ThreadPool;

// Rows interleaved per group (one register lane each on AVX-512; two halves
// of 8 on AVX2).
inline constexpr int kFastRows = 16;

// Layout, per group of kFastRows rows (the last one zero-padded), per
// 32-column block b, in order:
//  Q4_0/Q4_1: 4 chunks of 64 bytes; chunk j holds, for row r at 4r, the
//    row's qs[4j..4j+3] (low nibbles: elements 4j..4j+3, high: 16+4j..);
//    then d[16] fp16; Q4_1 also m[16] fp16. x = d*q + m (Q4_0: d*(q-8)).
//  Q8_0: 8 chunks of 64 bytes; chunk j holds row r's q[4j..4j+3] (int8) at
//    4r; then d[16] fp16.
// Scales stay fp16 (one vcvtph2ps per block): decode streams the weights and
// is bound by memory bandwidth, and fp32 scales would add 10-20% bytes
// (Q4_1: 384 instead of 320 bytes per 16x32 block). So the packed matrix has
// exactly the GGUF tensor's size.
struct PackedWeights {
  GgmlType type;
  int64_t rows = 0, cols = 0;
  int64_t groups = 0;      // ceil(rows / kFastRows)
  size_t block_bytes = 0;  // one 32-column block of one group
  size_t group_bytes = 0;  // block_bytes * cols / 32
  std::unique_ptr<uint8_t[], void (*)(uint8_t*)> data{nullptr, [](uint8_t*) {}};
  size_t bytes() const { return group_bytes * size_t(groups); }
};

// Whether pack_weights supports `type`.
bool fast_packable(GgmlType type);
// Repacks w (throws KernelError for an unsupported type or bad shape).
PackedWeights pack_weights(const WeightView& w);

// y[t*ldy + r] = sum_k W[r,k] x[t*ldx + k] with the active ISA's kernels.
// Results do not depend on the pool size or on which other tokens share the
// call (per (row, token) the arithmetic is fixed per ISA).
void matmul_fast(const PackedWeights& w, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
                 ThreadPool* pool);

}  // namespace loom
