// Host-side repacking of GGUF Q4_0 / Q4_1 / Q8_0 weight matrices into the
// layout the CUDA GEMV/GEMM (qgemv.cuh) reads. Built once at load time.
//
// GGUF stores a row as blocks of 18 (Q4_0), 20 (Q4_1) or 34 (Q8_0) bytes, so
// the quants of block b start at an address that is not 16-byte aligned. The
// repacked layout separates quants from scales:
//   qs: [n_rows][k/32][16] bytes (Q4_*: the block's 16 nibble bytes unchanged:
//       element j < 16 is the low nibble of byte j, j >= 16 the high nibble of
//       byte j-16) or [n_rows][k/32][32] int8 (Q8_0). Every block starts on a
//       16-byte boundary: one 16-byte load per Q4 block, two per Q8 block.
//   d:  [n_rows][k/32] fp16 bits, the block scale.
//   m:  [n_rows][k/32] fp16 bits, the block min (Q4_1 only; empty otherwise).
// Values are bit-for-bit those of the file: x = d*(q-8) (Q4_0), d*q + m
// (Q4_1), d*q (Q8_0).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/cpu/ggml_type.h"

namespace loom::cuda {

struct RepackedQuantMatrix {
  GgmlType type = GgmlType::Q4_0;
  int64_t n_rows = 0;
  int64_t k = 0;
  std::vector<uint8_t> qs;
  std::vector<uint16_t> d;
  std::vector<uint16_t> m;
};

// blocks: n_rows * k/32 GGUF blocks of `type`, row-major. Throws
// std::invalid_argument for another type, k not a positive multiple of 32,
// n_rows <= 0 or a null pointer.
RepackedQuantMatrix repack_quant_matrix(GgmlType type, const void* blocks, int64_t n_rows,
                                        int64_t k);

// Bytes of quants per 32-element block in the repacked layout (16 or 32).
int32_t repacked_block_qs_bytes(GgmlType type);

}  // namespace loom::cuda
