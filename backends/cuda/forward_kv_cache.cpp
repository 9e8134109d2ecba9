// The KV cache's device storage: one allocation, sized by the memory plan.
//   fp16: [n_layers][K|V][kv_blocks][block_size][n_kv_heads][head_dim] fp16
//   int8: [n_layers][K|V][kv_blocks][block_size][n_kv_heads][head_dim] int8,
//         then (256-B aligned) [n_layers][K|V][kv_blocks][block_size][n_kv_heads] fp32 scales
// Block `kv_blocks - 1` is the graph padding block (memory_plan.h).
#include "backends/cuda/cuda_forward.h"
#include "backends/cuda/memory_plan.h"

namespace loom::cuda_backend {
namespace {

constexpr size_t kScaleAlign = 256;

}  // namespace

size_t CudaForward::kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8) {
  return kv_cache_bytes_per_block(c.n_layers, c.n_kv_heads, c.head_dim, block_size, kv_int8);
}

void CudaForward::allocate_kv(int32_t kv_blocks) {
  lim_.kv_blocks = kv_blocks;
  const size_t bytes = kv_bytes_per_block(c_, lim_.block_size, lim_.kv_int8) * lim_.kv_blocks;
  kv_ = DeviceBuffer(bytes + (lim_.kv_int8 ? kScaleAlign : 0), "cudaMalloc(KV cache)");
}

KvLayerPools CudaForward::kv_pools(int32_t layer) const {
  const size_t slots = static_cast<size_t>(lim_.kv_blocks) * lim_.block_size * c_.n_kv_heads;
  const size_t pool = slots * c_.head_dim;  // elements of one layer's K (or V)
  const size_t k_index = 2 * static_cast<size_t>(layer), v_index = k_index + 1;
  KvLayerPools p;
  if (!lim_.kv_int8) {
    p.k = kv_.as<__half>() + k_index * pool;
    p.v = kv_.as<__half>() + v_index * pool;
    return p;
  }
  int8_t* data = kv_.as<int8_t>();
  const size_t data_bytes = 2 * static_cast<size_t>(c_.n_layers) * pool;
  float* scales = reinterpret_cast<float*>(data + (data_bytes + kScaleAlign - 1) / kScaleAlign * kScaleAlign);
  p.k_q = data + k_index * pool;
  p.v_q = data + v_index * pool;
  p.k_scale = scales + k_index * slots;
  p.v_scale = scales + v_index * slots;
  return p;
}

void CudaForward::copy_block(int32_t src, int32_t dst) {
  const size_t slots = static_cast<size_t>(lim_.block_size) * c_.n_kv_heads;  // per block
  const size_t elems = slots * c_.head_dim;
  auto copy = [&](void* base, size_t bytes) {
    char* b = static_cast<char*>(base);
    check_cuda(cudaMemcpyAsync(b + dst * bytes, b + src * bytes, bytes, cudaMemcpyDeviceToDevice, stream_),
               "copy-on-write block copy");
  };
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    const KvLayerPools p = kv_pools(l);
    if (!lim_.kv_int8) {
      copy(p.k, elems * sizeof(__half));
      copy(p.v, elems * sizeof(__half));
      continue;
    }
    copy(p.k_q, elems);
    copy(p.v_q, elems);
    copy(p.k_scale, slots * sizeof(float));
    copy(p.v_scale, slots * sizeof(float));
  }
}

}  // namespace loom::cuda_backend
