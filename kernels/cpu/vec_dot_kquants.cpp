// Scalar K-quant x Q8_K dot kernels. Per super-block: integer sums per
// sub-block weighted by the integer sub-block scales, then one float
// multiply by d*y.d; the mins use Q8_K's precomputed 16-element sums.
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/vec_dot_kernels.h"

namespace loom::scalar {

// Sum over the 8 sub-blocks of m[j] * (sum of the 32 activations of sub-block j).
int k_min_sum(const uint8_t* scales, const int16_t* bsums) {
  int sum = 0;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    k_scale_min(j, scales, &sc, &m);
    sum += m * (bsums[2 * j] + bsums[2 * j + 1]);
  }
  return sum;
}

float k_accumulate(float sum, float d, float yd, int sumi, float dmin, int summ) {
  return sum + (d * yd * float(sumi) - dmin * yd * float(summ));
}

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi = 0;
    for (int g = 0; g < 4; ++g) {  // 64 elements: sub-block 2g (low nibbles), 2g+1 (high)
      const uint8_t* q = x[i].qs + 32 * g;
      const int8_t* qy = y[i].qs + 64 * g;
      uint8_t sc0, sc1, m;
      k_scale_min(2 * g, x[i].scales, &sc0, &m);
      k_scale_min(2 * g + 1, x[i].scales, &sc1, &m);
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 32; ++l) s0 += (q[l] & 0xF) * qy[l], s1 += (q[l] >> 4) * qy[l + 32];
      sumi += sc0 * s0 + sc1 * s1;
    }
    const int summ = k_min_sum(x[i].scales, y[i].bsums);
    sum = k_accumulate(sum, half_to_float(x[i].d), y[i].d, sumi, half_to_float(x[i].dmin), summ);
  }
  return sum;
}

float dot_q5_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int sumi = 0;
    for (int g = 0; g < 4; ++g) {
      const uint8_t* q = x[i].qs + 32 * g;
      const int8_t* qy = y[i].qs + 64 * g;
      const uint8_t lo_bit = uint8_t(1u << (2 * g)), hi_bit = uint8_t(2u << (2 * g));
      uint8_t sc0, sc1, m;
      k_scale_min(2 * g, x[i].scales, &sc0, &m);
      k_scale_min(2 * g + 1, x[i].scales, &sc1, &m);
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 32; ++l) {
        s0 += ((q[l] & 0xF) + (x[i].qh[l] & lo_bit ? 16 : 0)) * qy[l];
        s1 += ((q[l] >> 4) + (x[i].qh[l] & hi_bit ? 16 : 0)) * qy[l + 32];
      }
      sumi += sc0 * s0 + sc1 * s1;
    }
    const int summ = k_min_sum(x[i].scales, y[i].bsums);
    sum = k_accumulate(sum, half_to_float(x[i].d), y[i].d, sumi, half_to_float(x[i].dmin), summ);
  }
  return sum;
}

float dot_q6_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int8_t q[kQKK];  // the 6-bit values minus 32, in element order (see dequant.cpp)
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = x[i].ql + 64 * half;
      const uint8_t* qh = x[i].qh + 32 * half;
      int8_t* o = q + 128 * half;
      for (int l = 0; l < 32; ++l) {
        o[l] = int8_t(((ql[l] & 0xF) | ((qh[l] >> 0 & 3) << 4)) - 32);
        o[l + 32] = int8_t(((ql[l + 32] & 0xF) | ((qh[l] >> 2 & 3) << 4)) - 32);
        o[l + 64] = int8_t(((ql[l] >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32);
        o[l + 96] = int8_t(((ql[l + 32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32);
      }
    }
    int sumi = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * j + l] * y[i].qs[16 * j + l];
      sumi += x[i].scales[j] * s;
    }
    sum = k_accumulate(sum, half_to_float(x[i].d), y[i].d, sumi, 0.f, 0);
  }
  return sum;
}

}  // namespace loom::scalar
