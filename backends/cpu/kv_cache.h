// The CPU paged KV cache: one pool per layer for K and one for V, allocated
// once at start-up, in one of two element types (kernels/cpu/README.md):
//   fp16: K, V: [num_blocks][block_size][n_kv_heads][head_dim] fp16 bits
//   int8: K, V: the same shape in int8, plus K, V scales
//         [num_blocks][block_size][n_kv_heads] fp32 (kernels/cpu/kv_quant.h)
// Which blocks a sequence owns is decided elsewhere (the block table comes
// with every forward call); this class only holds the memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/common/model/model_config.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_int8.h"

namespace loom {

enum class KvCacheDtype { kFp16, kInt8 };

// "fp16" / "int8" (the plugin key `kv_cache_dtype`); anything else throws ModelError.
KvCacheDtype parse_kv_cache_dtype(std::string_view name);
std::string_view kv_cache_dtype_name(KvCacheDtype dtype);

class CpuKvCache {
 public:
  CpuKvCache(const ModelConfig& config, int32_t num_blocks, int32_t block_size,
             KvCacheDtype dtype = KvCacheDtype::kFp16);

  // All layers, K and V, scales included: fp16 2*L*bs*H*D*2 bytes,
  // int8 2*L*bs*H*(D+4).
  static size_t bytes_per_block(const ModelConfig& config, int32_t block_size,
                                KvCacheDtype dtype = KvCacheDtype::kFp16);

  KvCacheDtype dtype() const { return dtype_; }
  cpu::PagedKvMut layer(int32_t index);           // fp16 caches; throws ModelError on int8
  cpu::PagedKvInt8Mut layer_int8(int32_t index);  // int8 caches; throws ModelError on fp16
  // Copies block src to dst in every layer (K, V and scales): copy-on-write.
  void copy_block(int32_t src, int32_t dst);
  int32_t num_blocks() const { return num_blocks_; }
  int32_t block_size() const { return block_size_; }
  size_t bytes() const;

 private:
  KvCacheDtype dtype_;
  int32_t n_layers_, num_blocks_, block_size_, n_kv_heads_, head_dim_;
  size_t layer_elems_;  // elements in one layer's K (or V) pool
  size_t layer_slots_;  // (block, slot, kv head) triples in one layer: scales per pool
  std::vector<uint16_t> fp16_;   // fp16: [n_layers][K|V][layer_elems]
  std::vector<int8_t> int8_;     // int8: [n_layers][K|V][layer_elems]
  std::vector<float> scales_;    // int8: [n_layers][K|V][layer_slots]
};

}  // namespace loom
