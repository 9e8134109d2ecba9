// mma.m16n8k16 and ldmatrix.x4 on the CPU. Layouts (PTX ISA, groupID = lane >> 2,
// threadID_in_group = lane % 4, element i of a fragment, a .f16x2 register
// holding elements 2r (low half) and 2r+1 (high half)):
//   A 16x16: row = groupID (+8 for i in {2,3,6,7}), col = tig*2 + (i&1) (+8 for i >= 4)
//   B 16x8:  row = tig*2 + (i&1) (+8 for i >= 2),   col = groupID
//   C/D 16x8: row = groupID (+8 for i >= 2),        col = tig*2 + (i&1)
//   ldmatrix: lane l receives, for matrix j, row l/4 elements 2*(l%4), 2*(l%4)+1.
#include "kernels/cuda/simt/tensor_core.h"

#include <cstring>

#include "kernels/cuda/simt/executor.h"
#include "kernels/cuda/simt/fp_types.h"

namespace loom::simt {
namespace {

struct MmaIn {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
};

float half_at(uint32_t reg, int high) {
  __half_raw raw;
  raw.x = static_cast<unsigned short>(high ? reg >> 16 : reg & 0xffffu);
  return __half2float(__half(raw));
}

void combine_mma(unsigned, const LaneInputs& in, void* const out[32], const char*,
                 std::source_location) {
  float a[16][16], b[16][8], c[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    MmaIn x;
    std::memcpy(&x, in.bytes[lane], sizeof x);
    const int g = lane >> 2, t = lane % 4;
    for (int i = 0; i < 8; ++i)
      a[g + 8 * ((i >> 1) & 1)][t * 2 + (i & 1) + 8 * (i >= 4)] = half_at(x.a[i / 2], i & 1);
    for (int i = 0; i < 4; ++i) b[t * 2 + (i & 1) + 8 * (i >= 2)][g] = half_at(x.b[i / 2], i & 1);
    for (int i = 0; i < 4; ++i) c[g + 8 * (i >= 2)][t * 2 + (i & 1)] = x.c[i];
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane % 4;
    float d[4];
    for (int i = 0; i < 4; ++i) {
      const int row = g + 8 * (i >= 2), col = t * 2 + (i & 1);
      double acc = c[row][col];
      for (int k = 0; k < 16; ++k) acc += static_cast<double>(a[row][k]) * b[k][col];
      d[i] = static_cast<float>(acc);
    }
    std::memcpy(out[lane], d, sizeof d);
  }
}

void combine_ldmatrix(unsigned, const LaneInputs& in, void* const out[32], const char* name,
                      std::source_location loc) {
  const unsigned char* rows[32];
  for (int lane = 0; lane < 32; ++lane) {
    std::memcpy(&rows[lane], in.bytes[lane], sizeof rows[lane]);
    if (reinterpret_cast<uintptr_t>(rows[lane]) % 16)
      fail(loc, std::string(name) + ": row address of lane " + std::to_string(lane) +
                    " is not 16-byte aligned");
    if (!in_shared(rows[lane], 16))
      fail(loc, std::string(name) + ": row of lane " + std::to_string(lane) +
                    " is not inside shared memory");
  }
  for (int lane = 0; lane < 32; ++lane) {
    uint32_t r[4];
    for (int j = 0; j < 4; ++j) std::memcpy(&r[j], rows[j * 8 + lane / 4] + (lane % 4) * 4, 4);
    std::memcpy(out[lane], r, sizeof r);
  }
}

}  // namespace

void mma_m16n8k16_f16f32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4],
                         std::source_location loc) {
  MmaIn x;
  std::memcpy(x.a, a, sizeof x.a);
  std::memcpy(x.b, b, sizeof x.b);
  std::memcpy(x.c, c, sizeof x.c);
  float result[4];
  warp_collective("mma.sync.m16n8k16", 0xffffffffu, &x, sizeof x, result, &combine_mma, loc);
  std::memcpy(d, result, sizeof result);
}

void ldmatrix_x4(uint32_t r[4], const void* smem_row, std::source_location loc) {
  uint32_t result[4];
  warp_collective("ldmatrix.x4", 0xffffffffu, &smem_row, sizeof smem_row, result,
                  &combine_ldmatrix, loc);
  std::memcpy(r, result, sizeof result);
}

}  // namespace loom::simt
