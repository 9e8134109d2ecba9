// Plain reference of the fast layout (fast_kernels.h): the SIMD kernels are
// tested against it (same bits: exact integer block sums, then the same two
// fmas per block) and against float64.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/fast_kernels.h"
#include "kernels/cpu/quant_blocks.h"

namespace loom::fast::scalar {

void quantize(const float* x, uint8_t* dst, int64_t nb) {
  auto* q = reinterpret_cast<int8_t*>(dst);
  auto* d = reinterpret_cast<float*>(dst + act_scales_offset(nb));
  float* s = d + nb;
  auto* sum = reinterpret_cast<int32_t*>(s + nb);
  for (int64_t b = 0; b < nb; ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    const float db = amax / 127.0f;
    const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
    int32_t acc = 0;
    for (int i = 0; i < 32; ++i) {
      const int v = static_cast<int>(std::nearbyint(x[b * 32 + i] * id));
      q[b * 32 + i] = static_cast<int8_t>(std::clamp(v, -127, 127));
      acc += q[b * 32 + i];
    }
    d[b] = db;
    s[b] = db * static_cast<float>(acc);
    sum[b] = acc;
  }
}

void gemm(const Job& job, int64_t g0, int64_t g1) {
  const int64_t nb = job.nb;
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* wg = job.w + g * job.group_bytes;
    const int nrows = static_cast<int>(std::min<int64_t>(16, job.rows - g * 16));
    for (int64_t t = 0; t < job.n_tokens; ++t) {
      const uint8_t* a = job.act + t * job.act_stride;
      const auto* aq = reinterpret_cast<const int8_t*>(a);
      const auto* ad = reinterpret_cast<const float*>(a + act_scales_offset(nb));
      const float* as = ad + nb;
      const auto* asum = reinterpret_cast<const int32_t*>(as + nb);
      float acc[16] = {};
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* wb = wg + b * job.block_bytes;
        const int8_t* y = aq + b * 32;
        int32_t isum[16] = {};
        if (job.kind == Job::kQ4) {
          for (int j = 0; j < 4; ++j)
            for (int r = 0; r < 16; ++r)
              for (int i = 0; i < 4; ++i) {
                const uint8_t byte = wb[64 * j + 4 * r + i];
                isum[r] += (byte & 0xF) * y[4 * j + i] + (byte >> 4) * y[16 + 4 * j + i];
              }
        } else {
          for (int j = 0; j < 8; ++j)
            for (int r = 0; r < 16; ++r)
              for (int i = 0; i < 4; ++i)
                isum[r] += static_cast<int8_t>(wb[64 * j + 4 * r + i]) * y[4 * j + i];
        }
        const size_t qbytes = job.kind == Job::kQ4 ? 256 : 512;
        uint16_t dh[16], mh[16] = {};
        std::memcpy(dh, wb + qbytes, sizeof dh);
        if (job.has_min) std::memcpy(mh, wb + qbytes + 32, sizeof mh);
        float d[16], m[16];
        for (int r = 0; r < 16; ++r) {
          d[r] = half_to_float(dh[r]);
          m[r] = half_to_float(mh[r]);
        }
        for (int r = 0; r < 16; ++r) {
          const int32_t is = isum[r] - job.zero * asum[b];
          // The SIMD kernels' two fmas, so every ISA gives the same bits.
          acc[r] = std::fma(static_cast<float>(is), d[r] * ad[b], acc[r]);
          if (job.has_min) acc[r] = std::fma(m[r], as[b], acc[r]);
        }
      }
      for (int r = 0; r < nrows; ++r) job.y[t * job.ldy + g * 16 + r] = acc[r];
    }
  }
}

}  // namespace loom::fast::scalar
