#include "kernels/cuda/ops/gather_rows.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 128;

// T is uint4 (8 halves) or __half; dim_t is dim in units of T.
template <class T>
__global__ void gather_rows_kernel(const T* __restrict__ in, int32_t n_in, int32_t dim_t,
                                   const int32_t* __restrict__ rows, T* __restrict__ out,
                                   int32_t* status) {
  const int32_t src = rows[blockIdx.x];
  const bool valid = src >= 0 && src < n_in;
  if (!valid && threadIdx.x == 0 && status) atomicExch(status, 1);
  T* dst = out + static_cast<int64_t>(blockIdx.x) * dim_t;
  const T* from = in + static_cast<int64_t>(valid ? src : 0) * dim_t;
  for (int i = threadIdx.x; i < dim_t; i += blockDim.x) {
    T v{};  // zeros for an invalid index
    if (valid) v = from[i];
    dst[i] = v;
  }
}

}  // namespace

cudaError_t launch_gather_rows(const __half* in, int32_t n_in, int32_t dim, const int32_t* rows,
                               int32_t n_out, __half* out, int32_t* status, cudaStream_t stream) {
  if (!in || !rows || !out || n_in <= 0 || dim <= 0 || n_out < 0) return cudaErrorInvalidValue;
  if (n_out == 0) return cudaSuccess;
  const bool wide = dim % 8 == 0 && reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(out) % 16 == 0;
  if (wide) {
    return loom_launch(gather_rows_kernel<uint4>, dim3(n_out), dim3(kThreads), 0, stream,
                       reinterpret_cast<const uint4*>(in), n_in, dim / 8, rows,
                       reinterpret_cast<uint4*>(out), status);
  }
  return loom_launch(gather_rows_kernel<__half>, dim3(n_out), dim3(kThreads), 0, stream, in, n_in,
                     dim, rows, out, status);
}

}  // namespace loom::cuda
