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

CpuKvCache::CpuKvCache(const ModelConfig& c, int32_t num_blocks, int32_t block_size, KvCacheDtype dtype)
    : dtype_(dtype),
      n_layers_(c.n_layers),
      num_blocks_(num_blocks),
      block_size_(block_size),
      n_kv_heads_(c.n_kv_heads),
      head_dim_(c.head_dim) {
  if (num_blocks <= 0 || block_size <= 0)
    throw ModelError("KV cache needs a positive block count and block size (got " +
                     std::to_string(num_blocks) + " x " + std::to_string(block_size) + ")");
  layer_slots_ = static_cast<size_t>(num_blocks) * block_size * n_kv_heads_;
  layer_elems_ = layer_slots_ * head_dim_;
  if (dtype_ == KvCacheDtype::kFp16) {
    fp16_.assign(layer_elems_ * 2 * n_layers_, 0);
  } else {
    int8_.assign(layer_elems_ * 2 * n_layers_, 0);
    scales_.assign(layer_slots_ * 2 * n_layers_, 0.0f);
  }
}

size_t CpuKvCache::bytes_per_block(const ModelConfig& c, int32_t block_size, KvCacheDtype dtype) {
  const size_t per_head = dtype == KvCacheDtype::kInt8 ? c.head_dim * sizeof(int8_t) + sizeof(float)
                                                       : c.head_dim * sizeof(uint16_t);
  return static_cast<size_t>(block_size) * c.n_kv_heads * per_head * 2 * c.n_layers;
}

size_t CpuKvCache::bytes() const {
  return fp16_.size() * sizeof(uint16_t) + int8_.size() + scales_.size() * sizeof(float);
}

cpu::PagedKvMut CpuKvCache::layer(int32_t index) {
  if (dtype_ != KvCacheDtype::kFp16) throw ModelError("CpuKvCache::layer: this cache holds int8, use layer_int8");
  uint16_t* base = fp16_.data() + static_cast<size_t>(index) * 2 * layer_elems_;
  return {base, base + layer_elems_, num_blocks_, block_size_, n_kv_heads_, head_dim_};
}

cpu::PagedKvInt8Mut CpuKvCache::layer_int8(int32_t index) {
  if (dtype_ != KvCacheDtype::kInt8) throw ModelError("CpuKvCache::layer_int8: this cache holds fp16, use layer");
  int8_t* base = int8_.data() + static_cast<size_t>(index) * 2 * layer_elems_;
  float* scales = scales_.data() + static_cast<size_t>(index) * 2 * layer_slots_;
  return {base, base + layer_elems_, scales, scales + layer_slots_,
          num_blocks_, block_size_, n_kv_heads_, head_dim_};
}

void CpuKvCache::copy_block(int32_t src, int32_t dst) {
  if (src < 0 || src >= num_blocks_ || dst < 0 || dst >= num_blocks_)
    throw ModelError("KV block copy " + std::to_string(src) + " -> " + std::to_string(dst) +
                     " is outside [0, " + std::to_string(num_blocks_) + ")");
  const size_t slots = static_cast<size_t>(block_size_) * n_kv_heads_;  // per block
  const size_t elems = slots * head_dim_;
  // Every pool (layer x K|V) is `pool_elems` long; copy the block in each.
  auto copy_in_pools = [&](auto* data, size_t pool_elems, size_t block_elems) {
    for (size_t pool = 0; pool < 2 * static_cast<size_t>(n_layers_); ++pool) {
      auto* base = data + pool * pool_elems;
      std::memcpy(base + dst * block_elems, base + src * block_elems, block_elems * sizeof(*data));
    }
  };
  if (dtype_ == KvCacheDtype::kFp16) {
    copy_in_pools(fp16_.data(), layer_elems_, elems);
  } else {
    copy_in_pools(int8_.data(), layer_elems_, elems);
    copy_in_pools(scales_.data(), layer_slots_, slots);
  }
}

}  // namespace loom
