// Clients through the proxy: many concurrent clients get exactly their own
// answers, stats/health come from the proxy, bad frames are answered by the
// proxy, keep-alive expiry cancels, SIGTERM drains.
#include <gtest/gtest.h>

#include <thread>

#include "adapters/zmq/client.h"
#include "tests/proxy/cluster.h"

namespace loom::test {
namespace {

using Type = ServerMessage::Type;

TEST(ProxyClients, ThirtyTwoConcurrentClientsGetExactlyTheirOwnAnswers) {
  Cluster cluster;
  for (const char* w : {"w1", "w2", "w3"}) cluster.start_worker(w, 64, 200);
  {
    zmq::context_t ctx;
    TestClient probe(ctx, cluster.frontend);
    ASSERT_TRUE(probe.stats_until([](const ProxyView& v) { return v.get("workers") == 3; }));
  }
  constexpr int kClients = 32, kJobs = 4;
  std::vector<std::vector<std::string>> failures(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      ZmqClient client({.endpoint = cluster.frontend, .timeout = std::chrono::seconds(10)});
      for (int k = 0; k < kJobs; ++k) {
        // Every client uses the same job id: ids are per connection.
        JobRequest job;
        job.id = "job";
        const std::string prompt = "c" + std::to_string(c) + "-" + std::to_string(k);
        job.prompt.value = prompt;
        job.params.max_tokens = 3 + (c + k) % 4;
        job.stream = (c + k) % 2 == 0;
        try {
          const JobEvent done = client.generate_all(job);
          if (done.kind != JobEvent::Kind::kDone || done.text != fake_text(prompt, job.params.max_tokens)) {
            failures[c].push_back(prompt + " got \"" + done.text + "\" / " + done.message);
          }
        } catch (const std::exception& e) {
          failures[c].push_back(prompt + ": " + e.what());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kClients; ++c) EXPECT_TRUE(failures[c].empty()) << "client " << c << ": " << failures[c][0];

  zmq::context_t ctx;
  TestClient probe(ctx, cluster.frontend);
  auto view = probe.stats();
  ASSERT_TRUE(view);
  EXPECT_EQ(view->get("jobs_finished"), kClients * kJobs);
  EXPECT_EQ(view->get("jobs_in_flight"), 0);
}

TEST(ProxyClients, StatsAndHealthComeFromTheProxy) {
  Cluster cluster;
  cluster.start_worker("w1", 4);
  cluster.start_worker("w2", 5);
  zmq::context_t ctx;
  TestClient jobs(ctx, cluster.frontend);
  ASSERT_TRUE(jobs.stats_until([](const ProxyView& v) { return v.get("workers") == 2; }));
  for (const char* id : {"h0", "h1", "h2"}) jobs.send(generate(id, "hang", 10));
  ASSERT_TRUE(jobs.stats_until([](const ProxyView& v) { return v.loads.at("w1") + v.loads.at("w2") == 3; }));

  // The C++ client reads the v1 fields as from any backend.
  ZmqClient client({.endpoint = cluster.frontend, .timeout = std::chrono::seconds(5)});
  const zmq_proto::StatsReply stats = client.stats();
  EXPECT_EQ(stats.jobs_in_flight, 3);
  EXPECT_EQ(stats.engine.running, 3);
  EXPECT_EQ(stats.engine.waiting, 0);
  EXPECT_EQ(stats.clients, 1);
  const zmq_proto::HealthReply health = client.health();
  EXPECT_TRUE(health.engine.ok);
  EXPECT_FALSE(health.draining);
  EXPECT_NE(health.engine.detail.find("2 workers"), std::string::npos) << health.engine.detail;

  auto view = jobs.stats();
  ASSERT_TRUE(view);
  EXPECT_EQ(view->get("workers"), 2);
  EXPECT_EQ(view->get("capacity"), 9);
  EXPECT_EQ(view->capacities, (std::map<std::string, int64_t>{{"w1", 4}, {"w2", 5}}));
  for (const char* id : {"h0", "h1", "h2"}) jobs.send(zmq_proto::encode_cancel(id));
  for (const char* id : {"h0", "h1", "h2"}) ASSERT_NE(jobs.wait_terminal(id), nullptr);
}

TEST(ProxyClients, BadFramesAreAnsweredByTheProxy) {
  Cluster cluster;
  cluster.start_worker("w1", 4);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 1; }));

  client.send("\xc1 not msgpack");
  client.send(generate("dup", "hang", 10));
  client.send(generate("dup", "other", 2));  // duplicate in flight
  client.send(generate("bad", "x", 0));      // max_tokens out of range
  ASSERT_TRUE(client.pump_until([&] { return client.jobs["bad"].terminal.has_value(); }));
  const auto& bad = *client.jobs["bad"].terminal;
  EXPECT_EQ(bad.event.error_code, ErrorCode::kBadRequest);
  EXPECT_EQ(bad.error_field, "params.max_tokens");
  // The duplicate was refused and the first "dup" is still running: its
  // only terminal so far is the refusal, and a cancel still ends the job.
  ASSERT_TRUE(client.jobs["dup"].terminal.has_value());
  EXPECT_EQ(client.jobs["dup"].terminal->error_field, "id");
  client.jobs.erase("dup");
  client.send(zmq_proto::encode_cancel("dup"));
  const auto* dup = client.wait_terminal("dup");
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(dup->terminal->event.finish_reason, FinishReason::kCancelled);
  auto garbage = client.health();  // the nil-id error came before; health still answered
  ASSERT_TRUE(garbage);
}

TEST(ProxyClients, SilentClientsJobsAreCancelledOnTheirWorker) {
  Cluster cluster({"--keepalive-ms", "300"});
  cluster.start_worker("w1", 4);
  zmq::context_t ctx;
  TestClient observer(ctx, cluster.frontend);
  ASSERT_TRUE(observer.stats_until([](const ProxyView& v) { return v.get("workers") == 1; }));
  TestClient silent(ctx, cluster.frontend);
  silent.send(generate("h", "hang", 10));
  // The worker reports the job, then (keep-alive expired) reports it gone.
  ASSERT_TRUE(observer.stats_until([](const ProxyView& v) { return v.loads.at("w1") == 1; }));
  EXPECT_TRUE(observer.stats_until([](const ProxyView& v) {
    return v.loads.at("w1") == 0 && v.get("jobs_in_flight") == 0;
  }));
}

TEST(ProxyClients, SigtermDrainsAndExitsCleanly) {
  Cluster cluster;  // --drain-ms 500
  cluster.start_worker("w1", 4);
  zmq::context_t ctx;
  TestClient client(ctx, cluster.frontend);
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("workers") == 1; }));
  client.send(generate("hang", "hang", 10));
  client.send(generate("quick", "quick", 2000));  // 2000 steps of 2 ms: outlives the drain
  ASSERT_TRUE(client.stats_until([](const ProxyView& v) { return v.get("jobs_in_flight") == 2; }));
  cluster.proxy().signal(SIGTERM);
  for (const char* id : {"hang", "quick"}) {
    const auto* job = client.wait_terminal(id);
    ASSERT_NE(job, nullptr) << id;
    EXPECT_EQ(job->terminal->event.error_code, ErrorCode::kUnavailable) << id;
  }
  EXPECT_EQ(cluster.proxy().wait(5s), std::optional<int>(0));
  EXPECT_EQ(client.violations(), 0);
}

}  // namespace
}  // namespace loom::test
