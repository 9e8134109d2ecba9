#include "backends/cpu/kv_cache.h"

#include <cstring>

namespace loom {

KvCacheDtype parse_kv_cache_dtype(std::string_view name) {
  if (name == "fp16") return KvCacheDtype::kFp16;
  if (name == "int8") return KvCacheDtype::kInt8;
  throw ModelError("KV cache dtype must be \"fp16\" or \"int8\", got \"" + std::string(name) + "\"");
}

std::string_view kv_cache_dtype_name(KvCacheDtype dtype) {
  return dtype == KvCacheDtype::kInt8 ? "int8" : "fp16";
}

CpuKvCache::CpuKvCache(const ModelConfig& c, int32_t num_blocks, int32_t block_size, KvCacheDtype dtype,
                       int32_t window_blocks)
    : dtype_(dtype),
      n_layers_(c.n_layers),
      num_blocks_(num_blocks),
      window_blocks_(window_blocks),
      block_size_(block_size),
      n_kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim) {
  if (num_blocks <= 0 || block_size <= 0 || window_blocks < 0)
    throw ModelError("KV cache needs a positive block count and block size (got " +
                     std::to_string(num_blocks) + " x " + std::to_string(block_size) + ", window pool " +
                     std::to_string(window_blocks) + ")");
  if (window_blocks > 0 && c.sliding_window <= 0)
    throw ModelError("a KV window pool needs a model with sliding-window layers");
  size_t elems = 0, slots = 0;
  for (int32_t l = 0; l < n_layers_; ++l) {
    Layer L;
    L.window = window_blocks > 0 && c.is_sliding(l);
    L.blocks = L.window ? window_blocks : num_blocks;
    L.slots = static_cast<size_t>(L.blocks) * block_size * n_kv_heads_;
    L.elems = L.slots * head_dim_;
    L.elem_base = elems;
    L.slot_base = slots;
    elems += 2 * L.elems;
    slots += 2 * L.slots;
    layers_.push_back(L);
  }
  if (dtype_ == KvCacheDtype::kFp16) {
    fp16_.assign(elems, 0);
  } else {
    int8_.assign(elems, 0);
    scales_.assign(slots, 0.0f);
  }
}

size_t CpuKvCache::bytes_per_block(const ModelConfig& c, int32_t block_size, KvCacheDtype dtype) {
  const size_t per_head = dtype == KvCacheDtype::kInt8 ? c.head_dim * sizeof(int8_t) + sizeof(float)
                                                       : c.head_dim * sizeof(uint16_t);
  return static_cast<size_t>(block_size) * c.n_kv_heads * per_head * 2 * c.n_layers;
}

size_t CpuKvCache::window_bytes_per_block(const ModelConfig& c, int32_t block_size, KvCacheDtype dtype) {
  int32_t sliding = 0;
  for (int32_t l = 0; l < c.n_layers; ++l) sliding += c.is_sliding(l) ? 1 : 0;
  return c.n_layers == 0 ? 0 : bytes_per_block(c, block_size, dtype) / c.n_layers * sliding;
}

size_t CpuKvCache::bytes() const {
  return fp16_.size() * sizeof(uint16_t) + int8_.size() + scales_.size() * sizeof(float);
}

cpu::PagedKvMut CpuKvCache::layer(int32_t index) {
  if (dtype_ != KvCacheDtype::kFp16) throw ModelError("CpuKvCache::layer: this cache holds int8, use layer_int8");
  const Layer& L = layers_.at(index);
  uint16_t* base = fp16_.data() + L.elem_base;
  return {base, base + L.elems, L.blocks, block_size_, n_kv_heads_, head_dim_};
}

cpu::PagedKvInt8Mut CpuKvCache::layer_int8(int32_t index) {
  if (dtype_ != KvCacheDtype::kInt8) throw ModelError("CpuKvCache::layer_int8: this cache holds fp16, use layer");
  const Layer& L = layers_.at(index);
  int8_t* base = int8_.data() + L.elem_base;
  float* scales = scales_.data() + L.slot_base;
  return {base, base + L.elems, scales, scales + L.slots, L.blocks, block_size_, n_kv_heads_, head_dim_};
}

void CpuKvCache::check_block(int32_t id, int32_t blocks, const char* what) const {
  if (id < 0 || id >= blocks)
    throw ModelError(std::string("KV block copy: ") + what + " block " + std::to_string(id) + " is outside [0, " +
                     std::to_string(blocks) + ")");
}

void CpuKvCache::copy_block(int32_t src, int32_t dst, bool window) {
  if (window && window_blocks_ == 0) throw ModelError("KV block copy in a window pool this cache does not have");
  const int32_t blocks = window ? window_blocks_ : num_blocks_;
  check_block(src, blocks, window ? "window" : "source");
  check_block(dst, blocks, window ? "window" : "destination");
  const size_t slots = static_cast<size_t>(block_size_) * n_kv_heads_;  // per block
  const size_t elems = slots * head_dim_;
  for (const Layer& L : layers_) {
    if (L.window != window) continue;
    // K then V, each L.elems (L.slots scales) long.
    for (size_t kv = 0; kv < 2; ++kv) {
      if (dtype_ == KvCacheDtype::kFp16) {
        uint16_t* base = fp16_.data() + L.elem_base + kv * L.elems;
        std::memcpy(base + dst * elems, base + src * elems, elems * sizeof(uint16_t));
      } else {
        int8_t* base = int8_.data() + L.elem_base + kv * L.elems;
        std::memcpy(base + dst * elems, base + src * elems, elems);
        float* sc = scales_.data() + L.slot_base + kv * L.slots;
        std::memcpy(sc + dst * slots, sc + src * slots, slots * sizeof(float));
      }
    }
  }
}

}  // namespace loom
