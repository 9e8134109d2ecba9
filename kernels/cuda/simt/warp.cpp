// Warp-collective semantics: shfl.sync and vote.sync as the PTX ISA defines
// them, plus the shared-memory bounds error.
#include <cstring>
#include <sstream>

#include "kernels/cuda/simt/cuda_compat.h"

namespace loom::simt {

[[noreturn]] void shared_index_error(long long index, size_t extent) {
  fail(std::source_location::current(),
       "shared memory index " + std::to_string(index) + " out of range [0, " +
           std::to_string(extent) + ")");
}

// PTX shfl.sync: c[12:8] is the segment mask, c[4:0] the clamp value.
//   minLane = lane & segmask; maxLane = minLane | (clamp & ~segmask)
//   up: j = lane - b, valid if j >= maxLane      (clamp is 0 for up)
//   down: j = lane + b, bfly: j = lane ^ b, idx: j = minLane | (b & ~segmask);
//   valid if j <= maxLane. An invalid j reads the lane's own value.
void combine_shfl(unsigned mask, const LaneInputs& in, void* const out[32], const char* name,
                  std::source_location loc) {
  for (int lane = 0; lane < 32; ++lane) {
    if (!((mask >> lane) & 1u)) continue;
    ShflIn x;
    std::memcpy(&x, in.bytes[lane], sizeof x);
    const int segmask = (x.c >> 8) & 0x1f, clamp = x.c & 0x1f;
    const int min_lane = lane & segmask, max_lane = min_lane | (clamp & ~segmask);
    int j = lane;
    bool valid = false;
    switch (static_cast<ShflMode>(x.mode)) {
      case ShflMode::kUp: j = lane - x.b, valid = j >= max_lane; break;
      case ShflMode::kDown: j = lane + x.b, valid = j <= max_lane; break;
      case ShflMode::kXor: j = lane ^ x.b, valid = j <= max_lane; break;
      case ShflMode::kIdx: j = min_lane | (x.b & ~segmask & 0x1f), valid = j <= max_lane; break;
    }
    if (!valid) j = lane;
    if (!((mask >> j) & 1u)) {
      std::ostringstream s;
      s << name << ": lane " << lane << " reads lane " << j << ", which is not in mask 0x"
        << std::hex << mask << " (its value is undefined on the GPU)";
      fail(loc, s.str());
    }
    ShflIn src;
    std::memcpy(&src, in.bytes[j], sizeof src);
    std::memcpy(out[lane], &src.value, sizeof src.value);
  }
}

void combine_vote(unsigned mask, const LaneInputs& in, void* const out[32], const char*,
                  std::source_location) {
  unsigned ballot = 0;
  for (int lane = 0; lane < 32; ++lane) {
    int pred;
    std::memcpy(&pred, in.bytes[lane], sizeof pred);
    if (((mask >> lane) & 1u) && pred) ballot |= 1u << lane;
  }
  for (int lane = 0; lane < 32; ++lane)
    if ((mask >> lane) & 1u) std::memcpy(out[lane], &ballot, sizeof ballot);
}

}  // namespace loom::simt
