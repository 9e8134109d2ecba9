// Content keys for full KV blocks (prefix caching).
//
// A full block's KV depends on every token before it, so its key chains the
// parent block's hash: hash(parent_hash, extra_key, block tokens). The extra
// key salts anything else that changes the KV content (LoRA adapter, model
// revision, multimodal inputs); requests with different salts never share.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "scheduler/types.h"

namespace loom::sched {

using BlockHash = uint64_t;

// Parent hash of a sequence's first block.
inline constexpr BlockHash kRootBlockHash = 0x6c6f6f6d6b763031ULL;

// The full key. The pool stores it so that a 64-bit hash collision is
// detected (tokens and extra key compared) instead of serving wrong KV.
struct BlockKey {
  BlockHash hash = 0;
  BlockHash parent = 0;
  uint64_t extra = 0;
  std::vector<TokenId> tokens;  // [block_size]

  bool operator==(const BlockKey&) const = default;
};

BlockHash hash_block(BlockHash parent, uint64_t extra_key, std::span<const TokenId> tokens);

BlockKey make_block_key(BlockHash parent, uint64_t extra_key, std::span<const TokenId> tokens);

}  // namespace loom::sched
