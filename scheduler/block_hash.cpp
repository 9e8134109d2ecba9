#include "scheduler/block_hash.h"

namespace loom::sched {
namespace {

// splitmix64 finalizer: a cheap full-avalanche mix of one 64-bit word.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t combine(uint64_t h, uint64_t word) {
  return mix64(h ^ mix64(word));
}

}  // namespace

BlockHash hash_block(BlockHash parent, uint64_t extra_key, std::span<const TokenId> tokens) {
  uint64_t h = combine(mix64(parent), extra_key);
  h = combine(h, tokens.size());
  for (TokenId t : tokens) h = combine(h, static_cast<uint32_t>(t));
  return h;
}

BlockKey make_block_key(BlockHash parent, uint64_t extra_key, std::span<const TokenId> tokens) {
  return BlockKey{hash_block(parent, extra_key, tokens), parent, extra_key,
                  std::vector<TokenId>(tokens.begin(), tokens.end())};
}

}  // namespace loom::sched
