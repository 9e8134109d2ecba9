#include "kernels/cuda/ops/quant_repack.h"

#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cpu/quant_blocks.h"

namespace loom::cuda {

int32_t repacked_block_qs_bytes(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0:
    case GgmlType::Q4_1: return 16;
    case GgmlType::Q8_0: return 32;
    default: return 0;
  }
}

namespace {

// Copies block i's fields; the GGUF struct is read with memcpy (the file's
// blocks need not be aligned for the struct).
template <class Block>
void repack_blocks(const uint8_t* src, int64_t n_blocks, RepackedQuantMatrix& out) {
  constexpr size_t kQsBytes = sizeof(Block::qs);
  for (int64_t i = 0; i < n_blocks; ++i) {
    Block blk;
    std::memcpy(&blk, src + i * sizeof(Block), sizeof(Block));
    std::memcpy(out.qs.data() + i * kQsBytes, blk.qs, kQsBytes);
    out.d[i] = blk.d;
    if constexpr (std::is_same_v<Block, BlockQ4_1>) out.m[i] = blk.m;
  }
}

}  // namespace

RepackedQuantMatrix repack_quant_matrix(GgmlType type, const void* blocks, int64_t n_rows,
                                        int64_t k) {
  const int32_t qs_bytes = repacked_block_qs_bytes(type);
  if (qs_bytes == 0) throw std::invalid_argument("repack_quant_matrix: type must be Q4_0, Q4_1 or Q8_0");
  if (k <= 0 || k % kQK != 0) {
    throw std::invalid_argument("repack_quant_matrix: k must be a positive multiple of 32, got " +
                                std::to_string(k));
  }
  if (n_rows <= 0) throw std::invalid_argument("repack_quant_matrix: n_rows must be > 0");
  if (!blocks) throw std::invalid_argument("repack_quant_matrix: null blocks");
  const int64_t n_blocks = n_rows * (k / kQK);
  RepackedQuantMatrix out;
  out.type = type;
  out.n_rows = n_rows;
  out.k = k;
  out.qs.resize(n_blocks * qs_bytes);
  out.d.resize(n_blocks);
  if (type == GgmlType::Q4_1) out.m.resize(n_blocks);
  const auto* src = static_cast<const uint8_t*>(blocks);
  if (type == GgmlType::Q4_0) repack_blocks<BlockQ4_0>(src, n_blocks, out);
  if (type == GgmlType::Q4_1) repack_blocks<BlockQ4_1>(src, n_blocks, out);
  if (type == GgmlType::Q8_0) repack_blocks<BlockQ8_0>(src, n_blocks, out);
  return out;
}

}  // namespace loom::cuda
