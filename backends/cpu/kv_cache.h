// The CPU paged KV cache: one pool per layer for K and one for V, allocated
// once at start-up, in one of two element types (kernels/cpu/README.md):
//   fp16: K, V: [num_blocks][block_size][n_kv_heads][head_dim] fp16 bits
//   int8: K, V: the same shape in int8, plus K, V scales
//         [num_blocks][block_size][n_kv_heads] fp32 (kernels/cpu/kv_quant.h)
// Which blocks a sequence owns is decided elsewhere (the block table comes
// with every forward call); this class only holds the memory.
// With a window pool (window_blocks > 0; models with sliding-window layers,
// scheduler/README.md) the sliding layers' pools have window_blocks blocks,
// indexed by the window block table, and the other layers num_blocks.
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

// How far back a query reads the sliding-window layers' cache on the CPU:
// the window, plus the attention kernels' alignment slack (their walk starts
// at a multiple of cpu::kWindowAlign at or below the window's first key).
inline int32_t cpu_window_keep_tokens(const ModelConfig& c) {
  return c.sliding_window > 0 ? c.sliding_window + static_cast<int32_t>(cpu::kWindowAlign) - 1 : 0;
}

class CpuKvCache {
 public:
  CpuKvCache(const ModelConfig& config, int32_t num_blocks, int32_t block_size,
             KvCacheDtype dtype = KvCacheDtype::kFp16, int32_t window_blocks = 0);

  // All layers, K and V, scales included: fp16 2*L*bs*H*D*2 bytes,
  // int8 2*L*bs*H*(D+4).
  static size_t bytes_per_block(const ModelConfig& config, int32_t block_size,
                                KvCacheDtype dtype = KvCacheDtype::kFp16);
  // The same for the sliding-window layers only (their share of a block).
  static size_t window_bytes_per_block(const ModelConfig& config, int32_t block_size,
                                       KvCacheDtype dtype = KvCacheDtype::kFp16);

  KvCacheDtype dtype() const { return dtype_; }
  cpu::PagedKvMut layer(int32_t index);           // fp16 caches; throws ModelError on int8
  cpu::PagedKvInt8Mut layer_int8(int32_t index);  // int8 caches; throws ModelError on fp16
  // Copies block src to dst in every layer of one pool (K, V and scales):
  // copy-on-write. window: the window pool's layers, else the others (or,
  // without a window pool, every layer).
  void copy_block(int32_t src, int32_t dst, bool window = false);
  int32_t num_blocks() const { return num_blocks_; }
  int32_t num_window_blocks() const { return window_blocks_; }
  // Whether layer l lives in the window pool (its block table is the window one).
  bool in_window_pool(int32_t layer) const { return window_blocks_ > 0 && layers_[layer].window; }
  int32_t block_size() const { return block_size_; }
  size_t bytes() const;

 private:
  struct Layer {
    bool window = false;  // in the window pool
    int32_t blocks = 0;
    size_t elems = 0;       // elements in its K (or V) pool
    size_t slots = 0;       // (block, slot, kv head) triples: scales per pool
    size_t elem_base = 0;   // its K pool's offset in fp16_ / int8_ (V follows)
    size_t slot_base = 0;   // its K scales' offset in scales_ (V follows)
  };
  void check_block(int32_t id, int32_t blocks, const char* what) const;

  KvCacheDtype dtype_;
  int32_t n_layers_, num_blocks_, window_blocks_, block_size_, n_kv_heads_, head_dim_;
  std::vector<Layer> layers_;
  std::vector<uint16_t> fp16_;   // fp16: per layer [K|V][its blocks][bs][H][D]
  std::vector<int8_t> int8_;     // int8: the same
  std::vector<float> scales_;    // int8: per layer [K|V][its blocks][bs][H]
};

}  // namespace loom
