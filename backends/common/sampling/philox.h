// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the Random123 / cuRAND generator). Counter-based: output is a pure
// function of (counter, key), so a CUDA kernel can reproduce the CPU stream.
#pragma once
#include <array>
#include <cstdint>

namespace loom::sampling {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

inline PhiloxCounter philox4x32_10(PhiloxCounter c, PhiloxKey k) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kWeyl0;
      k[1] += kWeyl1;
    }
    const uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  }
  return c;
}

// Loom's stream: draw n of a request seeded with `seed` is
//   out = philox4x32_10({lo32(n), hi32(n), 0, 0}, {lo32(seed), hi32(seed)})
//   u   = ((out[0] << 32 | out[1]) >> 11) * 2^-53, uniform in [0, 1).
inline double philox_uniform(uint64_t seed, uint64_t n) {
  const PhiloxCounter out =
      philox4x32_10({static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), 0u, 0u},
                    {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  const uint64_t bits = (static_cast<uint64_t>(out[0]) << 32) | out[1];
  return static_cast<double>(bits >> 11) * 0x1p-53;
}

}  // namespace loom::sampling
