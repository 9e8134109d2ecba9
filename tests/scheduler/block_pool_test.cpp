// BlockPool and KvCacheManager reservation, checked against
// hand-derived expectations.
#include <gtest/gtest.h>

#include "scheduler/block_pool.h"
#include "scheduler/kv_cache_manager.h"

namespace loom::sched {
namespace {

TEST(BlockPool, RefcountsAndErrors) {
  BlockPool pool(3);
  EXPECT_EQ(pool.take_free(), 0);
  EXPECT_EQ(pool.take_free(), 1);
  EXPECT_EQ(pool.num_free(), 1);
  pool.unref(0);
  EXPECT_THROW(pool.unref(0), SchedulerError);  // double free
  EXPECT_THROW(pool.ref(0), SchedulerError);    // free and uncached: nothing to revive
  EXPECT_THROW(pool.refcount(3), SchedulerError);
  EXPECT_THROW(pool.refcount(-1), SchedulerError);
  EXPECT_EQ(pool.take_free(), 0);  // plain freed blocks go to the front
  EXPECT_EQ(pool.take_free(), 2);
  EXPECT_THROW(pool.take_free(), SchedulerError);
  EXPECT_THROW(BlockPool(0), SchedulerError);
}

TEST(BlockPool, CachedBlocksEvictInLruOrderAfterPlainOnes) {
  BlockPool pool(4);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(pool.take_free(), i);
  const std::vector<TokenId> t0{1, 2}, t1{3, 4};
  BlockKey k0 = make_block_key(kRootBlockHash, 0, t0);
  BlockKey k1 = make_block_key(k0.hash, 0, t1);
  ASSERT_TRUE(pool.register_cached(1, k0));
  ASSERT_TRUE(pool.register_cached(2, k1));
  EXPECT_FALSE(pool.register_cached(3, k0));  // key already held by block 1
  pool.unref(1);                              // cached: back
  pool.unref(2);                              // cached: back (most recent)
  pool.unref(3);                              // plain: front
  EXPECT_EQ(pool.num_free(), 3);
  EXPECT_EQ(pool.num_cached_free(), 2);
  EXPECT_EQ(pool.find_cached(k0), 1);
  EXPECT_EQ(pool.take_free(), 3);                  // plain first
  EXPECT_EQ(pool.take_free(), 1);                  // then the least recently freed cached block
  EXPECT_FALSE(pool.find_cached(k0).has_value());  // evicted
  EXPECT_EQ(pool.find_cached(k1), 2);
  pool.ref(2);  // revive: leaves the free list
  EXPECT_EQ(pool.num_free(), 0);
}

TEST(BlockPool, HashCollisionIsNotAHit) {
  BlockPool pool(1);
  pool.take_free();
  const std::vector<TokenId> tokens{5, 6};
  BlockKey key = make_block_key(kRootBlockHash, 0, tokens);
  ASSERT_TRUE(pool.register_cached(0, key));
  BlockKey forged = key;
  forged.tokens = {5, 7};  // same 64-bit hash, different content
  EXPECT_FALSE(pool.find_cached(forged).has_value());
  EXPECT_TRUE(pool.find_cached(key).has_value());
}

TEST(KvCacheManager, ReservationIsHeldBackFromOthers) {
  KvCacheManager kv(4, 2);
  PrefixHit none;
  // Request 1: 2 tokens now (1 block), reserve up to 6 tokens (3 blocks).
  ASSERT_TRUE(kv.can_allocate(none, 2, 6));
  kv.allocate(1, none, 2, 0, 6);
  EXPECT_EQ(kv.num_reserved(), 2);
  EXPECT_EQ(kv.num_available(), 1);
  EXPECT_FALSE(kv.can_allocate(none, 3));  // 2 blocks > 1 unreserved
  kv.allocate(2, none, 2, 0);
  EXPECT_EQ(kv.num_available(), 0);
  EXPECT_TRUE(kv.can_append(1, 2, 4));  // grows into its reservation
  EXPECT_FALSE(kv.can_append(2, 2, 1));
  kv.append_slots(1, 2, 4);
  EXPECT_EQ(kv.num_reserved(), 0);
  EXPECT_EQ(kv.block_table(1).size(), 3u);
  kv.free(1);
  kv.free(2);
  EXPECT_EQ(kv.pool().num_free(), 4);
  EXPECT_THROW(kv.free(2), SchedulerError);
}

}  // namespace
}  // namespace loom::sched
