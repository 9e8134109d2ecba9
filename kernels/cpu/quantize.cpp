#include "kernels/cpu/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/quantize_kernels.h"

namespace loom {
namespace {

// Round half to even for |v| < 2^22 by adding 1.5*2^23 (the FPU rounds), like
// llama.cpp's nearest_int and _mm256_round_ps(_MM_ROUND_NEAREST). Vectorizes.
inline int nearest_int(float v) {
  return std::bit_cast<int32_t>(v + 12582912.f) - 0x4B400000;
}

inline float abs_max(const float* x, int n) {
  float amax = 0.f;
  for (int j = 0; j < n; ++j) amax = std::max(amax, std::fabs(x[j]));
  return amax;
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const float amax = abs_max(x, kQK);
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < kQK; ++j) y[i].qs[j] = static_cast<int8_t>(nearest_int(x[j] * id));
  }
}

// s is d * sum(q) with the unrounded d, as llama.cpp computes it.
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const float amax = abs_max(x, kQK);
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      const int q = nearest_int(x[j] * id);
      y[i].qs[j] = static_cast<int8_t>(q);
      sum += q;
    }
    y[i].d = float_to_half(d);
    y[i].s = float_to_half(d * static_cast<float>(sum));
  }
}

// Scale from the signed value of largest magnitude: that value maps to -127.
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float max = 0.f, amax = 0.f;
    for (int j = 0; j < kQKK; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
    std::memset(&y[i], 0, sizeof(BlockQ8_K));
    if (amax == 0.f) continue;
    const float iscale = -127.f / max;
    for (int j = 0; j < kQKK; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    for (int g = 0; g < kQKK / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * g + l];
      y[i].bsums[g] = static_cast<int16_t>(sum);
    }
    y[i].d = 1.f / iscale;
  }
}

// Weight quantizers (llama.cpp's *_ref): value of largest magnitude maps to -8.
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < kQK; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
    const float d = max / -8.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y[i].d = float_to_half(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[j + kQK / 2] * id + 8.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// As Q4_0 on a 5-bit grid: the value of largest magnitude maps to -16.
void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < kQK; ++j)
      if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
    const float d = max / -16.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y[i].d = float_to_half(d);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(31, static_cast<int>(x[j] * id + 16.5f));
      const int q1 = std::min(31, static_cast<int>(x[j + kQK / 2] * id + 16.5f));
      y[i].qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
      y[i].qh[j / 8] |= static_cast<uint8_t>((q0 >> 4) << (j % 8));
      y[i].qh[2 + j / 8] |= static_cast<uint8_t>((q1 >> 4) << (j % 8));
    }
  }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const auto [lo, hi] = std::minmax_element(x, x + kQK);
    const float min = *lo, d = (*hi - *lo) / 15.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y[i].d = float_to_half(d);
    y[i].m = float_to_half(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>((x[j] - min) * id + 0.5f));
      const int q1 = std::min(15, static_cast<int>((x[j + kQK / 2] - min) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

}  // namespace

GgmlType activation_type(GgmlType weight_type) {
  switch (weight_type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return weight_type;
    case GgmlType::Q4_0:
    case GgmlType::Q5_0:
    case GgmlType::Q8_0: return GgmlType::Q8_0;
    case GgmlType::Q4_1: return GgmlType::Q8_1;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return GgmlType::Q8_K;
    default: break;
  }
  throw KernelError("no dot-product kernel for weight type " +
                    std::string(ggml_type_info(weight_type).name));
}

void quantize_row(GgmlType type, const float* x, void* dst, int64_t n) {
  const auto& info = ggml_type_info(type);
  if (n < 0 || n % info.block_elems != 0)
    throw KernelError("quantize_row: " + std::to_string(n) + " elements is not a whole number of " +
                      std::string(info.name) + " blocks");
  const int64_t nb = n / info.block_elems;
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, x, n * sizeof(float)); return;
    case GgmlType::F16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = float_to_half(x[i]);
      return;
    }
    case GgmlType::BF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = float_to_bf16(x[i]);
      return;
    }
    case GgmlType::Q8_0:
      if (active_isa() == Isa::Avx512) return avx512::quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), nb);
      return quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), nb);
    case GgmlType::Q8_1:
      if (active_isa() == Isa::Avx512) return avx512::quantize_q8_1(x, static_cast<BlockQ8_1*>(dst), nb);
      return quantize_q8_1(x, static_cast<BlockQ8_1*>(dst), nb);
    case GgmlType::Q8_K: return quantize_q8_k(x, static_cast<BlockQ8_K*>(dst), nb);
    case GgmlType::Q4_0: return quantize_q4_0(x, static_cast<BlockQ4_0*>(dst), nb);
    case GgmlType::Q4_1: return quantize_q4_1(x, static_cast<BlockQ4_1*>(dst), nb);
    case GgmlType::Q5_0: return quantize_q5_0(x, static_cast<BlockQ5_0*>(dst), nb);
    default: break;
  }
  throw KernelError("quantize_row: type " + std::string(info.name) + " is not supported");
}

}  // namespace loom
