// The gateway's chain in one process, over real sockets: HTTP server ->
// RemoteEngine -> ZeroMQ (ipc) -> ZmqEndpoint -> a scripted engine. What the
// HTTP client sees must be what the engine did, and a client that hangs up
// cancels the job at the far end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/http/server.h"
#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/remote_engine.h"
#include "tests/http/raw_client.h"
#include "tests/http/script_engine.h"

namespace loom {
namespace {

using json = nlohmann::json;

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest()
      : address_("ipc:///tmp/loom-gw-test-" + std::to_string(::getpid()) + ".sock"),
        endpoint_(engine_, EndpointOptions{.address = address_}),
        remote_(RemoteEngineOptions{.endpoint = address_}),
        server_(remote_, http::ServerOptions{.port = 0}) {}
  testing::RawResponse ask(const std::string& request) {
    testing::RawConnection c(server_.port());
    c.send(request);
    return c.read_response();
  }
  std::string address_;
  testing::ScriptEngine engine_;
  ZmqEndpoint endpoint_;
  RemoteEngine remote_;
  http::HttpServer server_;
};

TEST_F(GatewayTest, TextFunctionsCrossTheWire) {
  EXPECT_EQ(remote_.model_info().name, "script-model");
  EXPECT_EQ(remote_.model_info().max_context, 2048);
  EXPECT_EQ(remote_.tokenize("ab cde", true, false), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(remote_.detokenize({7}), "t7 ");
  EXPECT_THROW(remote_.detokenize({5000}), EngineInputError);
  const json models = json::parse(ask(testing::get("/v1/models")).body);
  EXPECT_EQ(models["data"][0]["id"], "script-model");
  EXPECT_EQ(ask(testing::post("/detokenize", R"({"tokens":[5000]})")).status, 400);
}

TEST_F(GatewayTest, StreamAndNonStream) {
  auto r = ask(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":3})"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["choices"][0]["text"], "t0 t1 t2 ");
  r = ask(testing::post("/v1/chat/completions",
                        R"({"messages":[{"role":"user","content":"p"}],"max_tokens":3,"stream":true})"));
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(r.body.find("\"t2 \""), std::string::npos);
}

TEST_F(GatewayTest, RefusalsKeepTheirStatusAndField) {
  auto r = ask(testing::post("/v1/completions", R"({"prompt":"toolong"})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "max_tokens");
  EXPECT_EQ(ask(testing::post("/v1/completions", R"({"prompt":"overload"})")).status, 429);
}

TEST_F(GatewayTest, HangUpCancelsAtTheFarEnd) {
  {
    testing::RawConnection c(server_.port());
    c.send(testing::post("/v1/completions", R"({"prompt":"hang","stream":true})"));
    for (int i = 0; i < 5000 && engine_.in_flight() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(engine_.in_flight(), 1u);
  }
  for (int i = 0; i < 5000 && engine_.in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(engine_.in_flight(), 0u);
  EXPECT_EQ(engine_.cancelled().size(), 1u);
}

}  // namespace
}  // namespace loom
