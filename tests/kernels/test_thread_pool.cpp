// ThreadPool: coverage (every index exactly once), thread ids in range and
// unique among concurrent callbacks, reuse, nesting, exceptions, concurrent
// outside callers, and clean destruction while idle or asleep.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/cpu/thread_pool.h"

namespace loom {
namespace {

void check_coverage(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(n);
  std::vector<std::atomic<int>> busy(pool.size());
  std::atomic<bool> ok{true};
  pool.parallel_for(n, [&](int64_t begin, int64_t end, int thread) {
    if (begin < 0 || end > n || begin >= end || thread < 0 || thread >= pool.size()) {
      ok = false;
      return;
    }
    if (busy[thread].exchange(1) != 0) ok = false;  // two callbacks with one id at once
    for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1);
    busy[thread].store(0);
  }, grain);
  ASSERT_TRUE(ok.load()) << "n=" << n << " grain=" << grain;
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " index " << i;
}

TEST(ThreadPool, EveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000, 100003})
      for (int64_t grain : {1, 7, 1000}) check_coverage(pool, n, grain);
  }
}

TEST(ThreadPool, ManyReusedCalls) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  for (int call = 0; call < 20000; ++call)
    pool.parallel_for(17, [&](int64_t b, int64_t e, int) { total += e - b; });
  EXPECT_EQ(total.load(), 20000 * 17);
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(40 * 50);
  pool.parallel_for(40, [&](int64_t b, int64_t e, int outer_thread) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(50, [&](int64_t ib, int64_t ie, int inner_thread) {
        EXPECT_EQ(inner_thread, outer_thread);
        for (int64_t j = ib; j < ie; ++j) hits[i * 50 + j].fetch_add(1);
      });
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(ThreadPool, ExceptionPropagatesAndPoolStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(1000, [&](int64_t b, int64_t, int) {
    if (b == 0) throw std::runtime_error("boom");
  }), std::runtime_error);
  check_coverage(pool, 1000, 1);
}

TEST(ThreadPool, ConcurrentOutsideCallersAreSerialized) {
  ThreadPool pool(2);
  auto hammer = [&] {
    for (int k = 0; k < 200; ++k) check_coverage(pool, 333, 1);
  };
  std::thread a(hammer), b(hammer);
  a.join();
  b.join();
}

TEST(ThreadPool, DestroyWhileIdleOrAsleep) {
  { ThreadPool pool(4); }  // never used
  {
    ThreadPool pool(4);
    check_coverage(pool, 100, 1);
  }  // right after a job (workers spinning)
  {
    ThreadPool pool(4);
    check_coverage(pool, 100, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers asleep on the futex
    check_coverage(pool, 100, 1);                                // wake from sleep works
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  SUCCEED();
}

TEST(ThreadPool, RejectsNegativeSize) { EXPECT_ANY_THROW(ThreadPool(-1)); }

}  // namespace
}  // namespace loom
