// The proxy as a process, with fake-engine workers as processes, over real
// ipc:// sockets: spreading, capacity and queue, cancel routing, worker
// death and return, late replies, no worker, stats/health.
#include <gtest/gtest.h>

#include "tests/proxy/cluster.h"

namespace loom::test {
namespace {

using Type = ServerMessage::Type;

bool all_loads(const ProxyView& v, std::map<std::string, int64_t> expected) { return v.loads == expected; }

TEST(Proxy, SpreadsJobsLeastLoadedAndRoutesCancelsToOwners) {
  Cluster cluster;
  for (const char* w : {"w1", "w2", "w3"}) cluster.start_worker(w, 4);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 3; }));

  // Prompt "hang" never finishes until cancelled: the jobs stay put.
  for (int i = 0; i < 6; ++i) client.send(generate("h" + std::to_string(i), "hang", 10));
  // Each worker says so itself (its heartbeat's `load`): two jobs each.
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) {
    return all_loads(v, {{"w1", 2}, {"w2", 2}, {"w3", 2}});
  }));
  // A cancel that went anywhere but the owner would leave its job hanging.
  for (int i = 0; i < 6; ++i) client.send(zmq_proto::encode_cancel("h" + std::to_string(i)));
  for (int i = 0; i < 6; ++i) {
    const auto* job = client.wait_terminal("h" + std::to_string(i));
    ASSERT_NE(job, nullptr) << "h" << i;
    EXPECT_EQ(job->terminal->type, Type::kDone);
    EXPECT_EQ(job->terminal->event.finish_reason, FinishReason::kCancelled);
  }
  EXPECT_TRUE(client.stats_until([](const ProxyView& v) {
    return all_loads(v, {{"w1", 0}, {"w2", 0}, {"w3", 0}}) && v.get("jobs_in_flight") == 0;
  }));
  EXPECT_EQ(client.violations(), 0);
}

TEST(Proxy, WeighsCapacityQueuesBrieflyThenOverloaded) {
  Cluster cluster;
  cluster.start_worker("small", 1);
  cluster.start_worker("big", 3);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 2; }));

  for (int i = 0; i < 4; ++i) client.send(generate("h" + std::to_string(i), "hang", 10));
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"small", 1}, {"big", 3}}); }));
  // Full: the next job waits (--queue-ms 300), then is told to retry.
  client.send(generate("late", "hang", 10));
  const auto* late = client.wait_terminal("late");
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->terminal->type, Type::kError);
  EXPECT_EQ(late->terminal->event.error_code, ErrorCode::kOverloaded);

  // A queued job takes the slot a cancelled job frees.
  client.send(generate("queued", "hang", 10));
  client.send(zmq_proto::encode_cancel("h0"));
  ASSERT_NE(client.wait_terminal("h0"), nullptr);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) {
    return all_loads(v, {{"small", 1}, {"big", 3}}) && v.get("waiting") == 0;
  }));
  EXPECT_FALSE(client.jobs["queued"].terminal.has_value());
  for (const char* id : {"queued", "h1", "h2", "h3"}) client.send(zmq_proto::encode_cancel(id));
  for (const char* id : {"queued", "h1", "h2", "h3"}) {
    const auto* job = client.wait_terminal(id);
    ASSERT_NE(job, nullptr) << id;
    EXPECT_EQ(job->terminal->event.finish_reason, FinishReason::kCancelled) << id;
  }
  EXPECT_EQ(client.violations(), 0);
}

TEST(Proxy, KilledWorkerJobsGetUnavailableOthersServeAndItRejoins) {
  Cluster cluster;
  for (const char* w : {"w1", "w2", "w3"}) cluster.start_worker(w, 4);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 3; }));

  // Six long streams, two per worker, streaming when w1 dies.
  std::vector<std::string> streams;
  for (int i = 0; i < 6; ++i) streams.push_back("s" + std::to_string(i));
  for (const auto& id : streams) client.send(generate(id, id, 1000000));
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"w1", 2}, {"w2", 2}, {"w3", 2}}); }));
  ASSERT_TRUE(client.pump_until([&] {
    for (const auto& id : streams) if (client.jobs[id].deltas == 0) return false;
    return true;
  }));
  cluster.worker("w1").kill_now();

  // Within the heartbeat timeout (plus slack for a loaded machine), exactly
  // w1's two jobs end, with `unavailable`.
  auto failed = [&] {
    int n = 0;
    for (const auto& id : streams) n += client.jobs[id].terminal.has_value();
    return n;
  };
  ASSERT_TRUE(client.pump_until([&] { return failed() == 2; },
                                std::chrono::milliseconds(Cluster::kHeartbeatTimeoutMs) + 1500ms));
  std::vector<std::string> alive;
  for (const auto& id : streams) {
    const auto& job = client.jobs[id];
    if (!job.terminal) {
      alive.push_back(id);
      continue;
    }
    EXPECT_EQ(job.terminal->type, Type::kError) << id;
    EXPECT_EQ(job.terminal->event.error_code, ErrorCode::kUnavailable) << id;
    EXPECT_GT(job.deltas, 0) << id << " died mid-job";
  }
  ASSERT_EQ(alive.size(), 4u);

  // New jobs go to the survivors and complete, exactly.
  for (int i = 0; i < 6; ++i) client.send(generate("n" + std::to_string(i), "n" + std::to_string(i), 3));
  for (int i = 0; i < 6; ++i) {
    const std::string id = "n" + std::to_string(i);
    const auto* job = client.wait_terminal(id);
    ASSERT_NE(job, nullptr) << id;
    EXPECT_EQ(job->terminal->type, Type::kDone) << id;
    EXPECT_EQ(job->text, fake_text(id, 3));
  }

  // w1 comes back, rejoins, and as the least-loaded worker gets the next jobs.
  cluster.start_worker("w1", 4);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 3 && v.loads.count("w1"); }));
  client.send(generate("r0", "hang", 10));
  client.send(generate("r1", "hang", 10));
  EXPECT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"w1", 2}, {"w2", 2}, {"w3", 2}}); }));

  for (const char* id : {"r0", "r1"}) alive.push_back(id);
  for (const auto& id : alive) client.send(zmq_proto::encode_cancel(id));
  for (const auto& id : alive) {
    const auto* job = client.wait_terminal(id);
    ASSERT_NE(job, nullptr) << id;
    EXPECT_EQ(job->terminal->event.finish_reason, FinishReason::kCancelled) << id;
  }
  EXPECT_EQ(client.violations(), 0);
}

// A worker the proxy declared dead speaks again (it was only frozen): its
// late frames for the jobs already answered `unavailable` never reach the
// client, its orphaned job is cancelled, and it rejoins.
TEST(Proxy, LateRepliesAfterUnavailableAreDropped) {
  Cluster cluster;
  cluster.start_worker("w1", 4);
  cluster.start_worker("w2", 4);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 2; }));
  client.send(generate("a", "a", 1000000));
  client.send(generate("b", "b", 1000000));
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"w1", 1}, {"w2", 1}}); }));
  ASSERT_TRUE(client.pump_until([&] { return client.jobs["a"].deltas > 0 && client.jobs["b"].deltas > 0; }));

  cluster.worker("w1").signal(SIGSTOP);
  ASSERT_TRUE(client.pump_until([&] { return client.jobs["a"].terminal || client.jobs["b"].terminal; }, 3s));
  const std::string lost = client.jobs["a"].terminal ? "a" : "b";
  const std::string kept = lost == "a" ? "b" : "a";
  EXPECT_EQ(client.jobs[lost].terminal->event.error_code, ErrorCode::kUnavailable);
  // The id is free again: reuse it for a silent job, which goes to w2.
  client.jobs.erase(lost);
  client.send(generate(lost, "hang", 10));
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"w2", 2}}); }));
  cluster.worker("w1").signal(SIGCONT);

  // Back: it rejoins, and its orphan is cancelled (its own load says 0).
  // Its late frames (deltas, then `done`) travelled before that heartbeat,
  // so they were dropped before this stats reply left the proxy: the new
  // job of the same id saw none of them.
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return all_loads(v, {{"w1", 0}, {"w2", 2}}); }));
  EXPECT_FALSE(client.jobs[lost].terminal.has_value());
  EXPECT_EQ(client.jobs[lost].deltas, 0);
  EXPECT_FALSE(client.jobs[kept].terminal.has_value());
  for (const auto& id : {kept, lost}) client.send(zmq_proto::encode_cancel(id));
  for (const auto& id : {kept, lost}) {
    const auto* job = client.wait_terminal(id);
    ASSERT_NE(job, nullptr) << id;
    EXPECT_EQ(job->terminal->event.finish_reason, FinishReason::kCancelled) << id;
  }
  EXPECT_EQ(client.jobs[lost].deltas, 0);
  EXPECT_EQ(client.violations(), 0);
}

TEST(Proxy, NoWorkerMeansPromptUnavailable) {
  Cluster cluster;
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  client.send(generate("j", "hello", 3));
  const auto* job = client.wait_terminal("j", 2s);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->terminal->type, Type::kError);
  EXPECT_EQ(job->terminal->event.error_code, ErrorCode::kUnavailable);
  auto health = client.health();
  ASSERT_TRUE(health);
  EXPECT_FALSE(health->health.engine.ok);

  // A worker joins: served. It stops: unavailable again.
  cluster.start_worker("w1", 4);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 1; }));
  client.send(generate("k", "k", 2));
  job = client.wait_terminal("k");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->text, fake_text("k", 2));
  cluster.worker("w1").signal(SIGTERM);
  ASSERT_TRUE(cluster.worker("w1").wait(5s).has_value());
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 0; }));
  client.send(generate("m", "m", 2));
  job = client.wait_terminal("m", 2s);
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->terminal->event.error_code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace loom::test
