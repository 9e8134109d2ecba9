#include "kernels/cuda/ops/qgemv.cuh"

#include "kernels/cuda/ops/reduce.cuh"

namespace loom::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;

enum Format : int { kQ4_0 = 0, kQ4_1 = 1, kQ8_0 = 2 };

// 32 quants of one block as stored (Q4: 16 bytes, Q8: 32 bytes).
struct RawBlock {
  uint4 lo, hi;  // hi used by Q8_0 only
};

template <int F>
__device__ __forceinline__ RawBlock load_block(const uint8_t* qs, int64_t block) {
  constexpr int kBytes = F == kQ8_0 ? 32 : 16;
  const uint4* p = reinterpret_cast<const uint4*>(qs + block * kBytes);
  RawBlock r;
  r.lo = __ldg(p);
  r.hi = F == kQ8_0 ? __ldg(p + 1) : r.lo;
  return r;
}

__device__ __forceinline__ uint32_t word(const uint4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// Block quants as integers in float (Q4: the nibble q in [0,15]; Q8: q in
// [-128,127]); element j is the GGUF element j. Indices are compile-time
// after unrolling, so q stays in registers.
template <int F>
__device__ __forceinline__ void decode(const RawBlock& r, float (&q)[32]) {
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    if (F == kQ8_0) {
      q[j] = static_cast<float>(static_cast<int8_t>(word(r.lo, j / 4) >> (8 * (j % 4))));
      q[j + 16] = static_cast<float>(static_cast<int8_t>(word(r.hi, j / 4) >> (8 * (j % 4))));
    } else {
      const uint32_t byte = (word(r.lo, j / 4) >> (8 * (j % 4))) & 0xFFu;
      q[j] = static_cast<float>(byte & 0xFu);
      q[j + 16] = static_cast<float>(byte >> 4);
    }
  }
}

// dot = sum_j q[j] * x[j], sx = sum_j x[j] over the block's 32 activations.
__device__ __forceinline__ void dot_block(const float (&q)[32], const __half* x, float& dot,
                                          float& sx) {
  const uint4* xp = reinterpret_cast<const uint4*>(x);
  dot = 0.0f;
  sx = 0.0f;
#pragma unroll
  for (int c = 0; c < 4; ++c) {
    const uint4 v = __ldg(xp + c);
#pragma unroll
    for (int w = 0; w < 4; ++w) {
      const uint32_t bits = word(v, w);
      const __half2 h2 = *reinterpret_cast<const __half2*>(&bits);
      const float2 f = __half22float2(h2);
      dot += q[8 * c + 2 * w] * f.x + q[8 * c + 2 * w + 1] * f.y;
      sx += f.x + f.y;
    }
  }
}

template <int F, int kMaxBatch>
__device__ __forceinline__ void accumulate_block(const QuantMatrixView& w, const RawBlock& raw,
                                                 int64_t scale_idx, const __half* x, int32_t k,
                                                 int32_t batch, int b, float (&acc)[kMaxBatch]) {
  float q[32];
  decode<F>(raw, q);
  const float d = __half2float(w.d[scale_idx]);
  const float mn = F == kQ4_1 ? __half2float(w.m[scale_idx]) : 0.0f;
#pragma unroll
  for (int m = 0; m < kMaxBatch; ++m) {
    if (m < batch) {
      float dot, sx;
      dot_block(q, x + static_cast<int64_t>(m) * k + b * 32, dot, sx);
      if (F == kQ4_0) acc[m] += d * (dot - 8.0f * sx);
      if (F == kQ4_1) acc[m] += d * dot + mn * sx;
      if (F == kQ8_0) acc[m] += d * dot;
    }
  }
}

template <int F, int kMaxBatch>
__global__ void qgemv_kernel(QuantMatrixView w, const __half* __restrict__ x,
                                                         int32_t batch, void* y, ActType y_type) {
  const int lane = threadIdx.x % 32;
  const int row = blockIdx.x * kWarps + threadIdx.x / 32;
  if (row >= w.n_rows) return;  // whole warp exits together
  const int nb = w.k / 32;
  const int64_t row_block0 = static_cast<int64_t>(row) * nb;
  float acc[kMaxBatch];
#pragma unroll
  for (int m = 0; m < kMaxBatch; ++m) acc[m] = 0.0f;
  if (kMaxBatch <= 4) {
    // Few activation rows: issue two weight loads before using either, so each
    // lane keeps two 16-byte requests in flight.
    for (int b = lane; b < nb; b += 64) {
      const bool has_second = b + 32 < nb;
      const RawBlock r0 = load_block<F>(w.qs, row_block0 + b);
      RawBlock r1 = r0;
      if (has_second) r1 = load_block<F>(w.qs, row_block0 + b + 32);
      accumulate_block<F, kMaxBatch>(w, r0, row_block0 + b, x, w.k, batch, b, acc);
      if (has_second) accumulate_block<F, kMaxBatch>(w, r1, row_block0 + b + 32, x, w.k, batch, b + 32, acc);
    }
  } else {
    // 8-16 rows: the activation loads already keep the lane busy, and a second
    // block in registers would spill.
    for (int b = lane; b < nb; b += 32) {
      accumulate_block<F, kMaxBatch>(w, load_block<F>(w.qs, row_block0 + b), row_block0 + b, x, w.k,
                                     batch, b, acc);
    }
  }
#pragma unroll
  for (int m = 0; m < kMaxBatch; ++m) {
    if (m < batch) {
      const float s = warp_sum(acc[m]);
      if (lane == 0) {
        const int64_t i = static_cast<int64_t>(m) * w.n_rows + row;
        if (y_type == ActType::kF16) {
          static_cast<__half*>(y)[i] = __float2half_rn(s);
        } else {
          static_cast<float*>(y)[i] = s;
        }
      }
    }
  }
}

template <int F>
cudaError_t launch_format(const QuantMatrixView& w, const __half* x, int32_t batch, void* y,
                          ActType y_type, cudaStream_t stream) {
  const dim3 grid((w.n_rows + kWarps - 1) / kWarps), block(kThreads);
  if (batch == 1) return loom_launch(qgemv_kernel<F, 1>, grid, block, 0, stream, w, x, batch, y, y_type);
  if (batch <= 4) return loom_launch(qgemv_kernel<F, 4>, grid, block, 0, stream, w, x, batch, y, y_type);
  if (batch <= 8) return loom_launch(qgemv_kernel<F, 8>, grid, block, 0, stream, w, x, batch, y, y_type);
  return loom_launch(qgemv_kernel<F, 16>, grid, block, 0, stream, w, x, batch, y, y_type);
}

}  // namespace

cudaError_t launch_qgemv(const QuantMatrixView& w, const __half* x, int32_t batch, void* y,
                         ActType y_type, cudaStream_t stream) {
  const bool shape_ok = w.n_rows > 0 && w.k > 0 && w.k % 32 == 0 && batch >= 1 &&
                        batch <= kQGemvMaxBatch;
  const bool ptr_ok = w.qs && w.d && x && y && (w.type != GgmlType::Q4_1 || w.m) &&
                      reinterpret_cast<uintptr_t>(w.qs) % 16 == 0 &&
                      reinterpret_cast<uintptr_t>(x) % 16 == 0;
  const bool type_ok = y_type == ActType::kF16 || y_type == ActType::kF32;
  if (!shape_ok || !ptr_ok || !type_ok) return cudaErrorInvalidValue;
  switch (w.type) {
    case GgmlType::Q4_0: return launch_format<kQ4_0>(w, x, batch, y, y_type, stream);
    case GgmlType::Q4_1: return launch_format<kQ4_1>(w, x, batch, y, y_type, stream);
    case GgmlType::Q8_0: return launch_format<kQ8_0>(w, x, batch, y, y_type, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace loom::cuda
