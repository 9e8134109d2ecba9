// Worker mode: the endpoint connects to a (test-made) proxy ROUTER, says
// `ready`, serves `job` envelopes with `reply` envelopes, heartbeats.
#include <gtest/gtest.h>

#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"
#include "adapters/zmq/proxy_envelope.h"
#include "tests/zmq/msgpack_builder.h"
#include "tests/zmq/socket_helpers.h"

namespace loom {
namespace {

using zmq_proto::Envelope;

struct FakeProxy {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string worker_rid;

  std::optional<Envelope> recv() {
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(5)) == 0) return std::nullopt;
    zmq::message_t rid, frame;
    EXPECT_TRUE(router.recv(rid));
    EXPECT_TRUE(router.recv(frame));
    worker_rid = rid.to_string();
    return zmq_proto::decode_envelope(frame.to_string_view());
  }
  void send(const Envelope& e) {
    router.send(zmq::buffer(worker_rid), zmq::send_flags::sndmore);
    router.send(zmq::buffer(zmq_proto::encode_envelope(e)), zmq::send_flags::none);
  }
};

TEST(WorkerMode, AnnouncesServesAndHeartbeats) {
  FakeProxy proxy;
  proxy.router.bind("tcp://127.0.0.1:*");
  testing::FakeEngine engine;
  EndpointOptions options;
  options.proxy_address = proxy.router.get(zmq::sockopt::last_endpoint);
  options.worker_name = "w1";
  options.worker_capacity = 7;
  options.heartbeat = std::chrono::milliseconds(50);
  ZmqEndpoint endpoint(engine, options);

  auto ready = proxy.recv();
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->type, Envelope::Type::kReady);
  EXPECT_EQ(ready->worker, "w1");
  EXPECT_EQ(ready->capacity, 7);

  // Two clients of the proxy, same job id: namespaced by the client key.
  for (const char* client : {"clientA", "clientB"}) {
    test::Map job = test::generate_frame("j", client);
    test::set(job, "params", test::Map{{"max_tokens", 2}});
    Envelope e;
    e.type = Envelope::Type::kJob;
    e.client = client;
    e.frame = test::pack(job);
    proxy.send(e);
  }
  std::map<std::string, std::string> text;
  int done = 0, heartbeats = 0;
  while (done < 2) {
    auto e = proxy.recv();
    ASSERT_TRUE(e);
    if (e->type == Envelope::Type::kHeartbeat) {
      ++heartbeats;
      continue;
    }
    ASSERT_EQ(e->type, Envelope::Type::kReply);
    auto m = zmq_proto::decode_server_frame(e->frame);
    EXPECT_EQ(m.id, "j");
    text[e->client] += m.event.text;
    done += m.type == zmq_proto::ServerMessage::Type::kDone;
  }
  EXPECT_EQ(text["clientA"], "clientA:0 clientA:1 ");
  EXPECT_EQ(text["clientB"], "clientB:0 clientB:1 ");
  while (heartbeats == 0) {
    auto e = proxy.recv();
    ASSERT_TRUE(e);
    heartbeats += e->type == Envelope::Type::kHeartbeat;
  }
}

}  // namespace
}  // namespace loom
