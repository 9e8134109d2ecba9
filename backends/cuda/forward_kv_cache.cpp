// The KV cache's device storage: one allocation, sized by the memory plan.
//   fp16: [n_layers][K|V][blocks][block_size][n_kv_heads][head_dim] fp16
//   int8: [n_layers][K|V][blocks][block_size][n_kv_heads][head_dim] int8,
//         then (256-B aligned) [n_layers][K|V][blocks][block_size][n_kv_heads] fp32 scales
// where `blocks` is the layer's pool: the window pool's for sliding-window
// layers when there is one, the full pool's otherwise. The last block of
// each pool is its graph padding block (memory_plan.h).
#include <algorithm>
#include <string>

#include "backends/cuda/cuda_forward.h"
#include "backends/cuda/memory_plan.h"

namespace loom::cuda_backend {
namespace {

constexpr size_t kScaleAlign = 256;

int32_t sliding_layers(const ModelConfig& c) {
  int32_t n = 0;
  for (int32_t l = 0; l < c.n_layers; ++l) n += c.is_sliding(l) ? 1 : 0;
  return n;
}

}  // namespace

size_t CudaForward::kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8) {
  return kv_cache_bytes_per_block(c.n_layers, c.n_kv_heads, c.head_dim, block_size, kv_int8);
}

size_t CudaForward::window_kv_bytes_per_block(const ModelConfig& c, int32_t block_size, bool kv_int8) {
  if (c.sliding_window <= 0) return 0;
  return kv_cache_bytes_per_block(sliding_layers(c), c.n_kv_heads, c.head_dim, block_size, kv_int8);
}

void CudaForward::allocate_kv(int32_t kv_blocks, int32_t window_blocks) {
  lim_.kv_blocks = kv_blocks;
  lim_.window_blocks = window_blocks;
  const size_t slots_per_block = static_cast<size_t>(lim_.block_size) * c_.n_kv_heads;
  layer_slot_.assign(c_.n_layers, 0);
  total_slots_ = 0;
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    layer_slot_[l] = total_slots_;
    total_slots_ += 2 * slots_per_block * static_cast<size_t>(layer_blocks(l));  // K, then V
  }
  const size_t bytes = lim_.kv_int8 ? total_slots_ * (c_.head_dim + sizeof(float)) + kScaleAlign
                                    : total_slots_ * c_.head_dim * sizeof(__half);
  kv_ = DeviceBuffer(bytes, "cudaMalloc(KV cache)");
}

KvLayerPools CudaForward::kv_pools(int32_t layer) const {
  const size_t slots = static_cast<size_t>(layer_blocks(layer)) * lim_.block_size * c_.n_kv_heads;  // K (or V)
  const size_t k_slot = layer_slot_[layer], v_slot = k_slot + slots;
  const size_t dim = c_.head_dim;
  KvLayerPools p;
  if (!lim_.kv_int8) {
    p.k = kv_.as<__half>() + k_slot * dim;
    p.v = kv_.as<__half>() + v_slot * dim;
    return p;
  }
  int8_t* data = kv_.as<int8_t>();
  const size_t data_bytes = total_slots_ * dim;
  float* scales = reinterpret_cast<float*>(data + (data_bytes + kScaleAlign - 1) / kScaleAlign * kScaleAlign);
  p.k_q = data + k_slot * dim;
  p.v_q = data + v_slot * dim;
  p.k_scale = scales + k_slot;
  p.v_scale = scales + v_slot;
  return p;
}

void CudaForward::copy_block(int32_t src, int32_t dst, bool window) {
  if (window && lim_.window_blocks == 0) return;  // no window pool: its layers' KV is in the full pool's blocks
  const int32_t usable = (window ? lim_.window_blocks : lim_.kv_blocks) - 1;  // without the padding block
  if (src < 0 || dst < 0 || src >= usable || dst >= usable)
    throw ModelError("copy-on-write block " + std::to_string(src) + " -> " + std::to_string(dst) + " outside the " +
                     (window ? "window pool" : "pool") + " of " + std::to_string(std::max(usable, 0)) + " blocks");
  const size_t slots = static_cast<size_t>(lim_.block_size) * c_.n_kv_heads;  // per block
  const size_t elems = slots * c_.head_dim;
  auto copy = [&](void* base, size_t bytes) {
    char* b = static_cast<char*>(base);
    check_cuda(cudaMemcpyAsync(b + dst * bytes, b + src * bytes, bytes, cudaMemcpyDeviceToDevice, stream_),
               "copy-on-write block copy");
  };
  for (int32_t l = 0; l < c_.n_layers; ++l) {
    if (in_window_pool(l) != window) continue;
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
