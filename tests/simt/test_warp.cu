// Warp collectives: shuffles, votes, masks.
#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

// out[4 * lane + m] = the four shuffle flavours with width w.
__global__ void shuffles(int* out, int src, int delta, int xor_mask, int width) {
  const int lane = threadIdx.x, v = 100 + lane;
  out[4 * lane + 0] = __shfl_sync(0xffffffffu, v, src, width);
  out[4 * lane + 1] = __shfl_up_sync(0xffffffffu, v, delta, width);
  out[4 * lane + 2] = __shfl_down_sync(0xffffffffu, v, delta, width);
  out[4 * lane + 3] = __shfl_xor_sync(0xffffffffu, v, xor_mask, width);
}

// Expected values from the CUDA Programming Guide's description of each
// intrinsic (sub-sections of `width` lanes), written independently of the
// emulator's PTX-based formulation.
int expect_shfl(int lane, int mode, int src, int delta, int xor_mask, int width) {
  const int base = lane / width * width, in_seg = lane - base;
  switch (mode) {
    case 0: return 100 + base + src % width;
    case 1: return 100 + (in_seg - delta >= 0 ? lane - delta : lane);
    case 2: return 100 + (in_seg + delta < width ? lane + delta : lane);
    default: {
      const int j = lane ^ xor_mask;  // later sub-sections are not readable
      return 100 + (j < base + width ? j : lane);
    }
  }
}

TEST(SimtWarp, ShufflesFollowCudaSemantics) {
  int* d = to_device(std::vector<int>(128, 0));
  for (int width : {32, 16, 8, 4}) {
    for (auto [src, delta, xor_mask] : {std::tuple{3, 1, 1}, {13, 5, 9}, {0, 3, 16}}) {
      ASSERT_EQ(loom_launch(shuffles, 1, 32, 0, nullptr, d, src, delta, xor_mask, width),
                cudaSuccess);
      auto out = to_host(d, 128);
      for (int lane = 0; lane < 32; ++lane)
        for (int m = 0; m < 4; ++m)
          ASSERT_EQ(out[4 * lane + m], expect_shfl(lane, m, src, delta, xor_mask, width))
              << "width " << width << " mode " << m << " lane " << lane;
    }
  }
  cudaFree(d);
}

// Warp sum; `buggy` uses __shfl_up_sync where __shfl_down_sync is meant.
__global__ void warp_sum(const float* x, float* out, bool buggy) {
  float v = x[threadIdx.x];
  for (int off = 16; off > 0; off /= 2)
    v += buggy ? __shfl_up_sync(0xffffffffu, v, off) : __shfl_down_sync(0xffffffffu, v, off);
  if (threadIdx.x == 0) out[0] = v;
}

TEST(SimtWarp, ShuffleFromWrongLaneGivesWrongResult) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i * i % 7 + 1);
  double ref = 0;
  for (float v : x) ref += v;
  float* dx = to_device(x);
  float* dout = to_device(std::vector<float>(1, 0.0f));
  ASSERT_EQ(loom_launch(warp_sum, 1, 32, 0, nullptr, dx, dout, false), cudaSuccess);
  EXPECT_EQ(to_host(dout, 1)[0], ref);
  ASSERT_EQ(loom_launch(warp_sum, 1, 32, 0, nullptr, dx, dout, true), cudaSuccess);
  EXPECT_NE(to_host(dout, 1)[0], ref);
  cudaFree(dx);
  cudaFree(dout);
}

// Even lanes vote among themselves; odd lanes vote separately.
__global__ void partial_votes(unsigned* out) {
  const unsigned lane = threadIdx.x, mask = lane % 2 ? 0xaaaaaaaau : 0x55555555u;
  const int pred = lane % 4 == 0 || lane == 7;
  out[4 * lane + 0] = __ballot_sync(mask, pred);
  out[4 * lane + 1] = __any_sync(mask, pred);
  out[4 * lane + 2] = __all_sync(mask, pred);
  out[4 * lane + 3] = __all_sync(mask, lane < 40);
}

TEST(SimtWarp, VotesWithPartialMasks) {
  unsigned* d = to_device(std::vector<unsigned>(128, 7));
  ASSERT_EQ(loom_launch(partial_votes, 1, 32, 0, nullptr, d), cudaSuccess);
  auto out = to_host(d, 128);
  unsigned even_ballot = 0, odd_ballot = 0;
  for (int l = 0; l < 32; ++l) {
    const bool pred = l % 4 == 0 || l == 7;
    if (pred) (l % 2 ? odd_ballot : even_ballot) |= 1u << l;
  }
  EXPECT_EQ(odd_ballot, 1u << 7);
  for (int l = 0; l < 32; ++l) {
    const unsigned ballot = l % 2 ? odd_ballot : even_ballot;
    EXPECT_EQ(out[4 * l + 0], ballot) << l;
    EXPECT_EQ(out[4 * l + 1], 1u) << l;  // both groups have a true lane
    EXPECT_EQ(out[4 * l + 2], 0u) << l;
    EXPECT_EQ(out[4 * l + 3], 1u) << l;
  }
  cudaFree(d);
}

__global__ void lane_outside_mask(int* out) {
  out[threadIdx.x] = __shfl_sync(0x0000ffffu, 1, 0);  // lanes 16..31 are not in the mask
}
__global__ void lane_exits_before_shuffle(int* out) {
  if (threadIdx.x == 3) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
}
__global__ void reads_lane_outside_mask(int* out) {
  if (threadIdx.x < 8) out[threadIdx.x] = __shfl_sync(0xffu, 1, threadIdx.x + 8);
}
__global__ void full_mask_on_partial_warp(int* out) {
  out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
}

TEST(SimtWarp, MaskMistakesAreReported) {
  int* d = to_device(std::vector<int>(64, 0));
  std::string e = simt_error_of([&] { loom_launch(lane_outside_mask, 1, 32, 0, nullptr, d); });
  EXPECT_NE(e.find("is not in mask 0xffff"), std::string::npos) << e;
  e = simt_error_of([&] { loom_launch(lane_exits_before_shuffle, 1, 32, 0, nullptr, d); });
  EXPECT_NE(e.find("exited while lanes of mask 0xffffffff wait"), std::string::npos) << e;
  e = simt_error_of([&] { loom_launch(reads_lane_outside_mask, 1, 32, 0, nullptr, d); });
  EXPECT_NE(e.find("which is not in mask"), std::string::npos) << e;
  e = simt_error_of([&] { loom_launch(full_mask_on_partial_warp, 1, 48, 0, nullptr, d); });
  EXPECT_NE(e.find("do not exist"), std::string::npos) << e;
  cudaFree(d);
}

// Shuffles move any 2-, 4- or 8-byte type bit-exactly.
__global__ void shuffle_types(double* dd, __half* hh) {
  const int lane = threadIdx.x;
  dd[lane] = __shfl_xor_sync(0xffffffffu, 1.0 / (lane + 1), 1);
  hh[lane] = __shfl_down_sync(0xffffffffu, __float2half(0.5f * lane), 2);
}

TEST(SimtWarp, ShufflesOfDoubleAndHalf) {
  double* dd = to_device(std::vector<double>(32, 0.0));
  __half* hh = to_device(std::vector<__half>(32, __float2half(0.0f)));
  ASSERT_EQ(loom_launch(shuffle_types, 1, 32, 0, nullptr, dd, hh), cudaSuccess);
  auto d = to_host(dd, 32);
  auto h = to_host(hh, 32);
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(d[l], 1.0 / ((l ^ 1) + 1));
    EXPECT_EQ(__half2float(h[l]), 0.5f * (l + 2 < 32 ? l + 2 : l));
  }
  cudaFree(dd);
  cudaFree(hh);
}

}  // namespace
