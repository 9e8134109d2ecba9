// ZmqClient (C++) against a real endpoint over FakeEngine.
#include <gtest/gtest.h>

#include "adapters/zmq/client.h"
#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"
#include "tests/zmq/socket_helpers.h"

namespace loom {
namespace {

JobRequest text_job(const std::string& prompt, int max_tokens, bool stream = true) {
  JobRequest r;
  r.prompt.value = prompt;
  r.params.max_tokens = max_tokens;
  r.stream = stream;
  return r;
}

EndpointOptions tcp_options(std::chrono::milliseconds keepalive = std::chrono::seconds(10)) {
  EndpointOptions o;
  o.address = "tcp://127.0.0.1:*";
  o.keepalive = keepalive;
  return o;
}

TEST(ZmqClient, StreamsAndCollects) {
  testing::FakeEngine engine;
  ZmqEndpoint endpoint(engine, tcp_options());
  ZmqClient client({.endpoint = endpoint.address(), .timeout = std::chrono::seconds(5)});
  auto stream = client.generate(text_job("q", 3));
  std::string text;
  int deltas = 0;
  std::optional<JobEvent> last;
  while (auto ev = stream.next()) {
    if (ev->kind == JobEvent::Kind::kDelta) {
      ++deltas;
      text += ev->text;
    }
    last = ev;
  }
  EXPECT_EQ(deltas, 3);
  EXPECT_EQ(text, "q:0 q:1 q:2 ");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->kind, JobEvent::Kind::kDone);
  JobEvent whole = client.generate_all(text_job("q", 3, false));
  EXPECT_EQ(whole.text, text);
  EXPECT_EQ(client.generate_all(text_job("q", 3, true)).text, text);
}

TEST(ZmqClient, ErrorsArriveAsErrorEvents) {
  testing::FakeEngine engine;
  ZmqEndpoint endpoint(engine, tcp_options());
  ZmqClient client({.endpoint = endpoint.address(), .timeout = std::chrono::seconds(5)});
  JobEvent ev = client.generate_all(text_job("", 3));
  EXPECT_EQ(ev.kind, JobEvent::Kind::kError);
  EXPECT_EQ(ev.error_code, ErrorCode::kBadRequest);
  EXPECT_NE(ev.message.find("prompt"), std::string::npos);
  EXPECT_TRUE(client.health().engine.ok);
  EXPECT_EQ(client.stats().engine.kv_blocks_total, 1000);
}

TEST(ZmqClient, CancelAndKeepAlive) {
  testing::FakeEngine engine;
  ZmqEndpoint endpoint(engine, tcp_options(std::chrono::milliseconds(200)));
  ZmqClient client({.endpoint = endpoint.address(), .timeout = std::chrono::milliseconds(700),
                    .keepalive_interval = std::chrono::milliseconds(50)});
  auto stream = client.generate(text_job("hang", 1));
  EXPECT_THROW(stream.next(), ClientTimeout);  // 700 ms > keep-alive; pings kept it running...
  // ...until the timeout cancelled it: exactly one cancel, from the client.
  EXPECT_TRUE(test::eventually([&] { return engine.cancelled().size() == 1; }));
  EXPECT_EQ(endpoint.counters().clients_expired, 0);
}

TEST(ZmqClient, NoBackendTimesOut) {
  ZmqClient client({.endpoint = test::ipc_address("nobody"), .timeout = std::chrono::milliseconds(200)});
  EXPECT_THROW(client.health(), ClientTimeout);
}

}  // namespace
}  // namespace loom
