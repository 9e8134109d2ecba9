// Scalar K-quant x Q8_K dot kernels. Per super-block: integer sums per
// sub-block weighted by the integer sub-block scales (exact, any order),
// then the float step in llama.cpp's x86 order for Q4_K and Q6_K (see
// vec_dot_kernels.h); the mins use Q8_K's precomputed 16-element sums.
#include <cmath>

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

void q4k_add(Q4KSums& s, float d, float dmin, float yd, int sumi, int summ) {
  s.acc = std::fma(float(sumi), d * yd, s.acc);
  s.acc_min = std::fma(float(summ), dmin * yd, s.acc_min);
}

float q4k_result(const Q4KSums& s) { return s.acc - s.acc_min; }

void q6k_lanes(const void* block_q6_k, const void* block_q8_k, int32_t lanes[kQ6KLanes]) {
  const auto& x = *static_cast<const BlockQ6_K*>(block_q6_k);
  const auto& y = *static_cast<const BlockQ8_K*>(block_q8_k);
  for (int l = 0; l < kQ6KLanes; ++l)
    lanes[l] = -32 * (x.scales[2 * l] * y.bsums[2 * l] + x.scales[2 * l + 1] * y.bsums[2 * l + 1]);
  for (int e = 0; e < kQKK; ++e) {  // element e = 128*half + 32*chunk + byte
    const int half = e / 128, chunk = e / 32 % 4, byte = e % 32;
    const uint8_t ql = x.ql[64 * half + 32 * (chunk % 2) + byte];
    const uint8_t qh = x.qh[32 * half + byte];
    const int u = ((chunk < 2 ? ql & 0xF : ql >> 4) | ((qh >> (2 * chunk) & 3) << 4));
    lanes[byte / 4 % kQ6KLanes] += u * y.qs[e] * x.scales[e / 16];
  }
}

float q6k_tiled_add(float acc, float d, float yd, int sumi) {
  const float r = float(sumi) * d;
  return std::fma(r, yd, acc);
}

void q6k_add(float acc[kQ6KLanes], float dyd, const int32_t lanes[kQ6KLanes]) {
  for (int l = 0; l < kQ6KLanes; ++l) acc[l] = std::fma(dyd, float(lanes[l]), acc[l]);
}

float q6k_result(const float acc[kQ6KLanes]) {
  float r[4];
  for (int i = 0; i < 4; ++i) r[i] = acc[i] + acc[i + 4];
  return (r[0] + r[2]) + (r[1] + r[3]);
}

float dot_q4_k_q8_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  Q4KSums sums;
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
    q4k_add(sums, half_to_float(x[i].d), half_to_float(x[i].dmin), y[i].d, sumi, summ);
  }
  return q4k_result(sums);
}

float dot_q4_k_q8_k_grouped(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  Q4KSums sums;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    const float d = half_to_float(x[i].d), dmin = half_to_float(x[i].dmin);
    for (int g = 0; g < 4; ++g) {  // sub-blocks 2g (low nibbles) and 2g+1 (high)
      const uint8_t* q = x[i].qs + 32 * g;
      const int8_t* qy = y[i].qs + 64 * g;
      uint8_t sc0, sc1, m0, m1;
      k_scale_min(2 * g, x[i].scales, &sc0, &m0);
      k_scale_min(2 * g + 1, x[i].scales, &sc1, &m1);
      int s0 = 0, s1 = 0;
      for (int l = 0; l < 32; ++l) s0 += (q[l] & 0xF) * qy[l], s1 += (q[l] >> 4) * qy[l + 32];
      const int16_t* bs = y[i].bsums + 4 * g;
      q4k_add(sums, d, dmin, y[i].d, sc0 * s0 + sc1 * s1, m0 * (bs[0] + bs[1]) + m1 * (bs[2] + bs[3]));
    }
  }
  return q4k_result(sums);
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
  float acc[kQ6KLanes] = {};
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int32_t lanes[kQ6KLanes];
    q6k_lanes(&x[i], &y[i], lanes);
    q6k_add(acc, y[i].d * half_to_float(x[i].d), lanes);
  }
  return q6k_result(acc);
}

float dot_q6_k_q8_k_tiled(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float acc = 0;
  for (int64_t i = 0; i < n / kQKK; ++i) {
    int32_t lanes[kQ6KLanes];
    q6k_lanes(&x[i], &y[i], lanes);
    int sumi = 0;
    for (int32_t l : lanes) sumi += l;
    acc = q6k_tiled_add(acc, half_to_float(x[i].d), y[i].d, sumi);
  }
  return acc;
}

}  // namespace loom::scalar
