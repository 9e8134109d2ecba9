// WorkerPool on its own: least-loaded by load/capacity, ties round-robin,
// draining and full workers skipped, silence detection.
#include "adapters/proxy/worker_pool.h"

#include <gtest/gtest.h>

namespace loom::proxy {
namespace {

zmq_proto::Envelope announce(const std::string& name, int32_t capacity, int32_t load = 0, bool draining = false) {
  zmq_proto::Envelope e;
  e.type = zmq_proto::Envelope::Type::kReady;
  e.worker = name;
  e.capacity = capacity;
  e.load = load;
  e.draining = draining;
  return e;
}

TEST(WorkerPool, TiesGoRoundRobin) {
  WorkerPool pool(8);
  const auto now = Clock::now();
  for (const char* k : {"a", "b", "c"}) pool.announce(k, announce(k, 4), now);
  std::string order;
  for (int i = 0; i < 6; ++i) order += pool.pick()->key;  // loads stay 0: all tie
  EXPECT_EQ(order, "abcabc");
}

TEST(WorkerPool, PicksLowestLoadOverCapacityAndSkipsFullOrDraining) {
  WorkerPool pool(8);
  const auto now = Clock::now();
  pool.announce("small", announce("small", 1), now);
  pool.announce("big", announce("big", 3), now);
  pool.announce("drain", announce("drain", 100, 0, true), now);
  std::string order;
  for (int i = 0; i < 4; ++i) {
    WorkerInfo* w = pool.pick();
    ASSERT_NE(w, nullptr);
    ++w->in_flight;
    order += w->key + " ";
  }
  // 0/1 ties 0/3: round-robin -> small; then big 0/3, 1/3, 2/3 (small is full).
  EXPECT_EQ(order, "small big big big ");
  EXPECT_EQ(pool.pick(), nullptr);
  EXPECT_EQ(pool.accepting(), 2u);
  EXPECT_EQ(pool.total_capacity(), 4);
}

TEST(WorkerPool, ReportedLoadCountsWhenAboveOwnCount) {
  WorkerPool pool(8);
  const auto now = Clock::now();
  pool.announce("a", announce("a", 4, 3), now);  // busy with jobs the proxy does not know of
  pool.announce("b", announce("b", 4, 1), now);
  EXPECT_EQ(pool.pick()->key, "b");
  pool.find("b")->in_flight = 4;
  EXPECT_EQ(pool.pick()->key, "a");
}

TEST(WorkerPool, SilenceAndRemovalAndLimit) {
  WorkerPool pool(2);
  const auto t0 = Clock::now();
  EXPECT_EQ(pool.announce("a", announce("a", 1), t0), WorkerPool::Announce::kJoined);
  EXPECT_EQ(pool.announce("b", announce("b", 1), t0 + std::chrono::seconds(1)), WorkerPool::Announce::kJoined);
  EXPECT_EQ(pool.announce("c", announce("c", 1), t0), WorkerPool::Announce::kRejected);
  EXPECT_EQ(pool.announce("a", announce("a", 2), t0), WorkerPool::Announce::kRefreshed);
  EXPECT_EQ(pool.silent_since(t0 + std::chrono::milliseconds(500)), std::vector<std::string>{"a"});
  pool.remove("a");
  EXPECT_EQ(pool.find("a"), nullptr);
  EXPECT_EQ(pool.workers().size(), 1u);
}

}  // namespace
}  // namespace loom::proxy
