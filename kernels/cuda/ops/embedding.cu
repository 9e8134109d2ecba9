#include "kernels/cuda/ops/embedding.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ float half_bits_to_float(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}

__device__ __forceinline__ void store(void* out, ActType t, int64_t i, float v) {
  if (t == ActType::kF16) {
    static_cast<__half*>(out)[i] = __float2half_rn(v);
  } else {
    static_cast<float*>(out)[i] = v;
  }
}

// One thread per element of the row: element e lives in block e/32, lane e%32.
// GGUF blocks are 2-byte aligned (18/20/34 bytes), so the fp16 scale is read
// as one uint16 and quants as bytes.
__device__ float dequant_element(const uint8_t* row, GgmlType type, int e) {
  const int b = e / 32, j = e % 32;
  switch (type) {
    case GgmlType::Q8_0: {
      const uint8_t* blk = row + b * 34;
      const float d = half_bits_to_float(*reinterpret_cast<const uint16_t*>(blk));
      return d * static_cast<float>(static_cast<int8_t>(blk[2 + j]));
    }
    case GgmlType::Q4_0: {
      const uint8_t* blk = row + b * 18;
      const float d = half_bits_to_float(*reinterpret_cast<const uint16_t*>(blk));
      const int q = j < 16 ? (blk[2 + j] & 0xF) : (blk[2 + j - 16] >> 4);
      return d * static_cast<float>(q - 8);
    }
    case GgmlType::Q4_1: {
      const uint8_t* blk = row + b * 20;
      const float d = half_bits_to_float(reinterpret_cast<const uint16_t*>(blk)[0]);
      const float m = half_bits_to_float(reinterpret_cast<const uint16_t*>(blk)[1]);
      const int q = j < 16 ? (blk[4 + j] & 0xF) : (blk[4 + j - 16] >> 4);
      return d * static_cast<float>(q) + m;
    }
    default:  // F16
      return half_bits_to_float(reinterpret_cast<const uint16_t*>(row)[e]);
  }
}

__global__ void embedding_kernel(const uint8_t* __restrict__ table, GgmlType type, int64_t row_bytes,
                                 int64_t n_vocab, int32_t dim, const int32_t* __restrict__ ids,
                                 void* out, ActType out_type, int32_t* status) {
  const int t = blockIdx.x;
  const int32_t id = ids[t];
  const bool valid = id >= 0 && id < n_vocab;
  if (!valid && threadIdx.x == 0 && status) atomicExch(status, 1);
  const uint8_t* row = table + (valid ? id : 0) * row_bytes;
  for (int e = threadIdx.x; e < dim; e += blockDim.x) {
    const float v = valid ? dequant_element(row, type, e) : 0.0f;
    store(out, out_type, static_cast<int64_t>(t) * dim + e, v);
  }
}

int64_t row_bytes_of(GgmlType type, int32_t dim) {
  switch (type) {
    case GgmlType::Q8_0: return dim % 32 ? -1 : dim / 32 * 34;
    case GgmlType::Q4_0: return dim % 32 ? -1 : dim / 32 * 18;
    case GgmlType::Q4_1: return dim % 32 ? -1 : dim / 32 * 20;
    case GgmlType::F16: return int64_t{dim} * 2;
    default: return -1;
  }
}

}  // namespace

cudaError_t launch_embedding_gather(const void* table, GgmlType type, int64_t n_vocab, int32_t dim,
                                    const int32_t* token_ids, int32_t n_tokens, void* out,
                                    ActType out_type, int32_t* status, cudaStream_t stream) {
  const int64_t row_bytes = row_bytes_of(type, dim);
  if (!table || !token_ids || !out || row_bytes <= 0 || n_vocab <= 0 || n_tokens < 0 ||
      (out_type != ActType::kF16 && out_type != ActType::kF32)) {
    return cudaErrorInvalidValue;
  }
  if (n_tokens == 0) return cudaSuccess;
  return loom_launch(embedding_kernel, dim3(n_tokens), dim3(kThreads), 0, stream,
                     static_cast<const uint8_t*>(table), type, row_bytes, n_vocab, dim, token_ids,
                     out, out_type, status);
}

}  // namespace loom::cuda
