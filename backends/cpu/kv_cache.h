// The CPU paged KV cache: one fp16 pool per layer for K and one for V,
// allocated once at start-up. Layout per layer (kernels/cpu/attention.h):
//   K, V: [num_blocks][block_size][n_kv_heads][head_dim] fp16 bits.
// Which blocks a sequence owns is decided elsewhere (the block table comes
// with every forward call); this class only holds the memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backends/common/model/model_config.h"
#include "kernels/cpu/attention.h"

namespace loom {

class CpuKvCache {
 public:
  CpuKvCache(const ModelConfig& config, int32_t num_blocks, int32_t block_size);

  static size_t bytes_per_block(const ModelConfig& config, int32_t block_size);

  cpu::PagedKvMut layer(int32_t index);
  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  size_t bytes() const { return storage_.size() * sizeof(uint16_t); }

 private:
  int32_t n_layers_, num_blocks_, block_size_, n_kv_heads_, head_dim_;
  size_t layer_elems_;  // fp16 elements in one layer's K (or V) pool
  std::vector<uint16_t> storage_;  // [n_layers][K|V][layer_elems]
};

}  // namespace loom
