// ZmqEndpoint over real sockets (ipc:// and tcp://) against FakeEngine.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"
#include "tests/zmq/msgpack_builder.h"
#include "tests/zmq/socket_helpers.h"

namespace loom {
namespace {

using test::Map;
using zmq_proto::ServerMessage;
using Type = ServerMessage::Type;

std::string job(const std::string& id, const std::string& prompt, int max_tokens, bool stream = true) {
  Map m = test::generate_frame(id, prompt);
  test::set(m, "params", Map{{"max_tokens", max_tokens}});
  test::set(m, "stream", stream);
  return test::pack(m);
}

std::string cancel(const std::string& id) { return test::pack(Map{{"v", 1}, {"type", "cancel"}, {"id", id}}); }

int count_terminals(const std::vector<ServerMessage>& ms, const std::string& id) {
  int n = 0;
  for (const auto& m : ms) n += m.id == id && (m.type == Type::kDone || m.type == Type::kError);
  return n;
}

class EndpointTest : public ::testing::TestWithParam<std::string> {
 protected:
  void start(EndpointOptions options = {}, std::chrono::microseconds step = std::chrono::microseconds(0)) {
    engine_ = std::make_unique<testing::FakeEngine>(step);
    options.address = test::address_for(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    endpoint_ = std::make_unique<ZmqEndpoint>(*engine_, options);
  }
  void TearDown() override {
    endpoint_.reset();
    engine_.reset();
  }
  test::RawClient client() { return test::RawClient(ctx_, endpoint_->address()); }

  zmq::context_t ctx_{1};
  std::unique_ptr<testing::FakeEngine> engine_;
  std::unique_ptr<ZmqEndpoint> endpoint_;
};

TEST_P(EndpointTest, StreamedDeltasConcatenateToTheNonStreamedText) {
  start();
  auto c = client();
  c.send(job("s", "p", 5, true));
  auto streamed = c.until_terminal("s");
  c.send(job("n", "p", 5, false));
  auto whole = c.until_terminal("n");
  std::string text;
  for (const auto& m : streamed) {
    if (m.type == Type::kDelta) text += m.event.text;
  }
  ASSERT_EQ(streamed.size(), 6u);  // 5 deltas + done
  EXPECT_EQ(text, "p:0 p:1 p:2 p:3 p:4 ");
  EXPECT_TRUE(streamed.back().event.text.empty());
  ASSERT_EQ(whole.size(), 1u);  // no deltas when stream is false
  EXPECT_EQ(whole[0].type, Type::kDone);
  EXPECT_EQ(whole[0].event.text, text);
  EXPECT_EQ(whole[0].event.token_ids, (std::vector<int32_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(whole[0].event.finish_reason, FinishReason::kLength);
}

TEST_P(EndpointTest, ExactlyOneTerminalPerId) {
  start();
  auto c = client();
  const int jobs = 20;
  for (int i = 0; i < jobs; ++i) c.send(job("j" + std::to_string(i), "x", 1 + i % 4, i % 2 == 0));
  std::vector<ServerMessage> all;
  int terminals = 0;
  while (terminals < jobs) {
    auto m = c.recv();
    ASSERT_TRUE(m) << "missing terminals: " << jobs - terminals;
    all.push_back(*m);
    terminals += m->type == Type::kDone || m->type == Type::kError;
  }
  EXPECT_FALSE(c.recv(std::chrono::milliseconds(200))) << "a frame after every job ended";
  for (int i = 0; i < jobs; ++i) EXPECT_EQ(count_terminals(all, "j" + std::to_string(i)), 1);
}

TEST_P(EndpointTest, SixtyFourClientsGetOnlyTheirOwnAnswers) {
  start();
  std::vector<test::RawClient> clients;
  for (int i = 0; i < 64; ++i) clients.push_back(client());
  // Every client uses the same id: ids are namespaced per connection.
  for (int i = 0; i < 64; ++i) clients[i].send(job("same", "c" + std::to_string(i), 3));
  for (int i = 0; i < 64; ++i) {
    auto frames = clients[i].until_terminal("same");
    std::string text;
    for (const auto& m : frames) text += m.event.text;
    const std::string p = "c" + std::to_string(i);
    EXPECT_EQ(text, p + ":0 " + p + ":1 " + p + ":2 ") << "client " << i;
    EXPECT_EQ(count_terminals(frames, "same"), 1);
  }
}

TEST_P(EndpointTest, DuplicateInFlightIdIsRejectedAndTheFirstJobContinues) {
  start();
  auto c = client();
  c.send(job("a", "hang", 5));
  c.send(job("a", "other", 5));
  auto dup = c.recv();
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->type, Type::kError);
  EXPECT_EQ(dup->event.error_code, ErrorCode::kBadRequest);
  EXPECT_EQ(dup->error_field, "id");
  EXPECT_EQ(dup->id, "a");
  c.send(cancel("a"));
  auto end = c.recv();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->type, Type::kDone);
  EXPECT_EQ(end->event.finish_reason, FinishReason::kCancelled);
  // Once finished, the id may be used again.
  c.send(job("a", "again", 1));
  auto again = c.until_terminal("a");
  EXPECT_EQ(again.back().type, Type::kDone);
}

TEST_P(EndpointTest, CancelMidStream) {
  start({}, std::chrono::microseconds(2000));
  auto c = client();
  c.send(job("long", "x", 100000));
  for (int i = 0; i < 3; ++i) {
    auto m = c.recv();
    ASSERT_TRUE(m);
    ASSERT_EQ(m->type, Type::kDelta);
  }
  c.send(cancel("long"));
  auto frames = c.until_terminal("long");
  EXPECT_EQ(frames.back().event.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(engine_->cancelled().size(), 1u);
  c.send(cancel("long"));  // after the end: ignored, no reply
  EXPECT_FALSE(c.recv(std::chrono::milliseconds(200)));
}

TEST_P(EndpointTest, VanishedClientsJobsAreCancelled) {
  EndpointOptions options;
  options.keepalive = std::chrono::milliseconds(200);
  start(options);
  auto c = client();
  c.send(job("h1", "hang", 5));
  c.send(job("h2", "hang", 5));
  ASSERT_TRUE(test::eventually([&] { return engine_->in_flight() == 2; }));
  c.close();
  EXPECT_TRUE(test::eventually([&] { return engine_->cancelled().size() == 2; }));
  EXPECT_TRUE(test::eventually([&] { return endpoint_->counters().jobs_in_flight == 0; }));
}

TEST_P(EndpointTest, ClientThatKeepsTalkingStaysAlive) {
  EndpointOptions options;
  options.keepalive = std::chrono::milliseconds(200);
  start(options);
  auto c = client();
  c.send(job("h", "hang", 5));
  for (int i = 0; i < 12; ++i) {  // 600 ms of health pings, 50 ms apart
    c.send(test::pack(Map{{"v", 1}, {"type", "health"}}));
    auto m = c.recv();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, Type::kHealth);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(engine_->cancelled().empty());
  c.send(cancel("h"));
  EXPECT_EQ(c.until_terminal("h").back().event.finish_reason, FinishReason::kCancelled);
}

TEST_P(EndpointTest, DrainFinishesRunningJobsAndRefusesNewOnes) {
  start({}, std::chrono::microseconds(1000));
  auto c = client();
  c.send(job("run", "x", 50));
  ASSERT_TRUE(c.recv());  // first delta: the job is running
  std::thread drainer([&] { endpoint_->drain(std::chrono::seconds(10)); });
  // Wait until the endpoint says it is draining, then try a new job.
  bool draining = false;
  std::vector<ServerMessage> seen;
  for (int i = 0; i < 200 && !draining; ++i) {
    c.send(test::pack(Map{{"v", 1}, {"type", "health"}, {"id", "h"}}));
    for (;;) {
      auto m = c.recv();
      ASSERT_TRUE(m);
      if (m->type == Type::kHealth) {
        draining = m->health.draining;
        break;
      }
      seen.push_back(*m);
    }
  }
  ASSERT_TRUE(draining);
  c.send(job("late", "x", 5));
  bool refused = false;
  while (count_terminals(seen, "run") == 0 || !refused) {
    auto m = c.recv();
    ASSERT_TRUE(m);
    if (m->id == "late") {
      EXPECT_EQ(m->type, Type::kError);
      EXPECT_EQ(m->event.error_code, ErrorCode::kUnavailable);
      refused = true;
    } else {
      seen.push_back(*m);
    }
  }
  drainer.join();
  EXPECT_EQ(seen.back().event.finish_reason, FinishReason::kLength);  // ran to the end
  EXPECT_TRUE(engine_->cancelled().empty());
}

TEST_P(EndpointTest, DrainTimeoutCancelsWhatIsLeft) {
  start();
  auto c = client();
  c.send(job("h", "hang", 5));
  ASSERT_TRUE(test::eventually([&] { return engine_->in_flight() == 1; }));
  endpoint_->drain(std::chrono::milliseconds(100));
  auto end = c.recv();
  ASSERT_TRUE(end);
  EXPECT_EQ(end->event.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(engine_->cancelled().size(), 1u);
}

TEST_P(EndpointTest, OversizedFrameGetsTooLongWithNilId) {
  EndpointOptions options;
  options.limits.max_frame_bytes = 1024;
  start(options);
  auto c = client();
  c.send(job("big", std::string(2000, 'a'), 1));
  auto m = c.recv();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, Type::kError);
  EXPECT_EQ(m->event.error_code, ErrorCode::kTooLong);
  EXPECT_FALSE(m->id);
}

TEST_P(EndpointTest, GarbageDoesNotHurtTheEndpoint) {
  start();
  auto c = client();
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    c.send(junk);
    auto m = c.recv();
    ASSERT_TRUE(m) << "no answer to junk frame " << i;
    EXPECT_EQ(m->type, Type::kError);
  }
  // Two frames in one message (e.g. REQ's empty delimiter): rejected too.
  c.socket().send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  c.socket().send(zmq::buffer(job("x", "y", 1)), zmq::send_flags::none);
  auto multi = c.recv();
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->type, Type::kError);
  EXPECT_NE(multi->event.message.find("exactly one frame"), std::string::npos);
  c.send(job("ok", "fine", 2));
  EXPECT_EQ(c.until_terminal("ok").back().type, Type::kDone);
}

TEST_P(EndpointTest, AdmissionLimitAnswersOverloaded) {
  EndpointOptions options;
  options.max_jobs_in_flight = 2;
  start(options);
  auto c = client();
  c.send(job("a", "hang", 1));
  c.send(job("b", "hang", 1));
  c.send(job("c", "hang", 1));
  auto m = c.recv();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, "c");
  EXPECT_EQ(m->event.error_code, ErrorCode::kOverloaded);
  c.send(cancel("a"));
  c.send(cancel("b"));
  c.until_terminal("a");
}

TEST_P(EndpointTest, StatsAndHealthEchoTheirIds) {
  start();
  auto c = client();
  c.send(test::pack(Map{{"v", 1}, {"type", "stats"}, {"id", "s7"}}));
  auto s = c.recv();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->type, Type::kStats);
  EXPECT_EQ(s->id, "s7");
  EXPECT_EQ(s->stats.engine.kv_blocks_total, 1000);  // from FakeEngine
  c.send(test::pack(Map{{"v", 1}, {"type", "health"}, {"id", "h7"}}));
  auto h = c.recv();
  ASSERT_TRUE(h);
  EXPECT_EQ(h->id, "h7");
  EXPECT_TRUE(h->health.engine.ok);
  EXPECT_FALSE(h->health.draining);
}

INSTANTIATE_TEST_SUITE_P(Transports, EndpointTest, ::testing::Values("ipc", "tcp"));

TEST(EndpointSetup, UnusableAddressThrows) {
  testing::FakeEngine engine;
  EndpointOptions options;
  options.address = "tcp://256.0.0.1:1";
  EXPECT_THROW(ZmqEndpoint(engine, options), ZmqEndpointError);
}

}  // namespace
}  // namespace loom
