#include "backends/cpu/kv_cache.h"

namespace loom {

CpuKvCache::CpuKvCache(const ModelConfig& c, int32_t num_blocks, int32_t block_size)
    : n_layers_(c.n_layers),
      num_blocks_(num_blocks),
      block_size_(block_size),
      n_kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim) {
  if (num_blocks <= 0 || block_size <= 0)
    throw ModelError("KV cache needs a positive block count and block size (got " +
                     std::to_string(num_blocks) + " x " + std::to_string(block_size) + ")");
  layer_elems_ = static_cast<size_t>(num_blocks) * block_size * n_kv_heads_ * head_dim_;
  storage_.assign(layer_elems_ * 2 * n_layers_, 0);
}

size_t CpuKvCache::bytes_per_block(const ModelConfig& c, int32_t block_size) {
  return static_cast<size_t>(block_size) * c.n_kv_heads * c.head_dim * sizeof(uint16_t) * 2 *
         c.n_layers;
}

cpu::PagedKvMut CpuKvCache::layer(int32_t index) {
  uint16_t* base = storage_.data() + static_cast<size_t>(index) * 2 * layer_elems_;
  return {base, base + layer_elems_, num_blocks_, block_size_, n_kv_heads_, head_dim_};
}

}  // namespace loom
