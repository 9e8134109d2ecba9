// The HTTP server over a scripted engine, through real sockets: routes,
// SSE framing, errors before and after a stream started, disconnects that
// cancel, limits and timeouts, keep-alive, the API key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/http/server.h"
#include "tests/http/raw_client.h"
#include "tests/http/script_engine.h"

namespace loom::http {
namespace {

using json = nlohmann::json;
using testing::RawConnection;

// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    out.push_back(body.substr(pos + 6, end - pos - 6));
    pos = end + 2;
  }
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(ServerOptions o) {
    server_.reset();
    o.port = 0;
    server_ = std::make_unique<HttpServer>(engine_, o);
  }
  testing::RawResponse ask(const std::string& request) {
    RawConnection c(server_->port());
    c.send(request);
    return c.read_response();
  }
  testing::ScriptEngine engine_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, CompletionNonStream) {
  const auto r = ask(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":3})"));
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["text"], "t0 t1 t2 ");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["model"], "script-model");
}

TEST_F(HttpServerTest, ChatStreamFrames) {
  const auto r = ask(testing::post("/v1/chat/completions",
                                   R"({"messages":[{"role":"user","content":"p"}],"max_tokens":3,"stream":true,
                                       "stream_options":{"include_usage":true}})"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), "text/event-stream");
  const auto frames = sse_data(r.body);
  ASSERT_GE(frames.size(), 5u);
  EXPECT_EQ(frames.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 2 < frames.size(); ++i) {
    const json c = json::parse(frames[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (i == 0) EXPECT_EQ(c["choices"][0]["delta"]["role"], "assistant");
    text += c["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(text, "t0 t1 t2 ");
  EXPECT_EQ(json::parse(frames[frames.size() - 3])["choices"][0]["finish_reason"], "length");
  const json usage = json::parse(frames[frames.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 3);
}

TEST_F(HttpServerTest, StreamedLogprobsJoinToText) {
  const auto r = ask(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":4,"stream":true,"logprobs":1})"));
  ASSERT_EQ(r.status, 200);
  std::string text, joined;
  size_t offset = 0;
  for (const auto& f : sse_data(r.body)) {
    if (f == "[DONE]") continue;
    const json c = json::parse(f)["choices"][0];
    text += c["text"].get<std::string>();
    if (c["logprobs"].is_null()) continue;
    for (size_t i = 0; i < c["logprobs"]["tokens"].size(); ++i) {
      EXPECT_EQ(c["logprobs"]["text_offset"][i], offset);
      offset += c["logprobs"]["tokens"][i].get<std::string>().size();
      joined += c["logprobs"]["tokens"][i].get<std::string>();
      EXPECT_EQ(c["logprobs"]["top_logprobs"][i].size(), 1u);
    }
  }
  EXPECT_EQ(text, "t0 t1 t2 t3 ");
  EXPECT_EQ(joined, text);
}

TEST_F(HttpServerTest, NChoicesAreNJobs) {
  const auto r = ask(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":2,"n":3,"seed":5})"));
  ASSERT_EQ(r.status, 200);
  const json j = json::parse(r.body);
  ASSERT_EQ(j["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(j["choices"][i]["index"], i);
  EXPECT_EQ(j["usage"]["completion_tokens"], 6);
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);  // one prompt, counted once
  std::set<uint64_t> seeds;
  for (const auto& req : engine_.requests()) seeds.insert(req.params.sampling.seed);
  EXPECT_EQ(seeds, (std::set<uint64_t>{5, 6, 7}));
}

TEST_F(HttpServerTest, EngineRefusalsMapToStatuses) {
  auto r = ask(testing::post("/v1/completions", R"({"prompt":"overload"})"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.at("retry-after"), "1");
  r = ask(testing::post("/v1/completions", R"({"prompt":"toolong","stream":true})"));
  EXPECT_EQ(r.status, 400);
  const json e = json::parse(r.body)["error"];
  EXPECT_EQ(e["param"], "max_tokens");
  EXPECT_NE(e["message"].get<std::string>().find("2048"), std::string::npos);
}

TEST_F(HttpServerTest, ErrorAfterStreamStartedIsOneSseEvent) {
  const auto r = ask(testing::post("/v1/completions", R"({"prompt":"fail","stream":true,"max_tokens":10})"));
  ASSERT_EQ(r.status, 200);
  const auto frames = sse_data(r.body);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames.back(), "[DONE]");
  EXPECT_EQ(json::parse(frames[frames.size() - 2])["error"]["code"], "internal");
}

TEST_F(HttpServerTest, BadRequestsNeverReachTheEngine) {
  auto r = ask(testing::post("/v1/completions", "{not json"));
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(json::parse(r.body)["error"].contains("message"));
  r = ask(testing::post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"top_p":"a"})"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["param"], "top_p");
  r = ask(testing::post("/v1/completions", R"({"prompt":"x","model":"other"})"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(engine_.submitted(), 0u);
}

TEST_F(HttpServerTest, RoutesAndMethods) {
  EXPECT_EQ(ask(testing::get("/nope")).status, 404);
  const auto r = ask(testing::get("/v1/completions"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at("allow"), "POST");
  EXPECT_EQ(ask(testing::post("/health", "{}")).status, 405);
  EXPECT_EQ(ask(testing::get("/health")).status, 200);
  const json models = json::parse(ask(testing::get("/v1/models")).body);
  EXPECT_EQ(models["data"][0]["id"], "script-model");
  const json tok = json::parse(ask(testing::post("/tokenize", R"({"prompt":"ab cde"})")).body);
  EXPECT_EQ(tok["tokens"], json({2, 3}));
  EXPECT_EQ(tok["count"], 2);
  EXPECT_EQ(json::parse(ask(testing::post("/detokenize", R"({"tokens":[4]})")).body)["prompt"], "t4 ");
  EXPECT_EQ(ask(testing::post("/detokenize", R"({"tokens":[4000]})")).status, 400);
  const auto m = ask(testing::get("/metrics"));
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("vllm:num_requests_running{model_name=\"script-model\"}"), std::string::npos);
  server_->set_draining(true);
  EXPECT_EQ(ask(testing::get("/health")).status, 503);
  EXPECT_EQ(ask(testing::post("/v1/completions", R"({"prompt":"x"})")).status, 503);
}

TEST_F(HttpServerTest, KeepAliveServesRequestsInOrder) {
  RawConnection c(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":2,"stream":true})")));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(sse_data(r.body).back(), "[DONE]");
  }
  ASSERT_TRUE(c.send(testing::get("/health")));
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection c(server_->port());
  const std::string stream = testing::post("/v1/completions", R"({"prompt":"p","max_tokens":5,"stream":true})");
  const std::string whole = testing::post("/v1/completions", R"({"prompt":"p","max_tokens":2})");
  ASSERT_TRUE(c.send(stream + whole + testing::get("/health")));  // the next ones arrive while the first streams
  const auto first = c.read_response();
  EXPECT_EQ(sse_data(first.body).back(), "[DONE]");
  const auto second = c.read_response();
  EXPECT_EQ(json::parse(second.body)["choices"][0]["text"], "t0 t1 ");
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpServerTest, DisconnectCancelsTheJob) {
  {
    RawConnection c(server_->port());
    c.send(testing::post("/v1/completions", R"({"prompt":"hang","stream":true})"));
    while (engine_.in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }  // closed mid-stream
  for (int i = 0; i < 5000 && engine_.in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(engine_.in_flight(), 0u);
  EXPECT_EQ(engine_.cancelled().size(), 1u);
  // Non-stream too: a client waiting for its whole answer that hangs up cancels.
  {
    RawConnection c(server_->port());
    c.send(testing::post("/v1/completions", R"({"prompt":"hang"})"));
    while (engine_.in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (int i = 0; i < 5000 && engine_.in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(engine_.in_flight(), 0u);
}

TEST_F(HttpServerTest, SizeLimits) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  o.max_header_bytes = 2000;
  start(o);
  auto r = ask(testing::post("/v1/completions", R"({"prompt":")" + std::string(2000, 'a') + "\"}"));
  EXPECT_EQ(r.status, 413);
  r = ask(testing::get("/health", "X-Big: " + std::string(4000, 'b') + "\r\n"));
  EXPECT_EQ(r.status, 431);
  // Chunked bodies are held to the same limit.
  RawConnection c(server_->port());
  c.send(std::string("POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") +
         "7d0\r\n" + std::string(2000, 'a') + "\r\n0\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 413);
}

TEST_F(HttpServerTest, SlowHeaderAndBodyAreCut) {
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  o.body_timeout = std::chrono::milliseconds(300);
  start(o);
  RawConnection slow_header(server_->port());
  slow_header.send("GET /health HTTP/1.1\r\nHo");  // and never the rest
  RawConnection slow_body(server_->port());
  slow_body.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro");
  // Meanwhile the server still answers others at once.
  EXPECT_EQ(ask(testing::get("/health")).status, 200);
  // Past their deadlines both connections are closed (the server's socket
  // is gone; the read below returns EOF, not our 10 s receive timeout).
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow_header.closed_by_peer());
  EXPECT_TRUE(slow_body.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, ApiKey) {
  ServerOptions o;
  o.api_key = "sekrit";
  start(o);
  EXPECT_EQ(ask(testing::get("/v1/models")).status, 401);
  EXPECT_EQ(ask(testing::get("/v1/models", "Authorization: Bearer wrong\r\n")).status, 401);
  EXPECT_EQ(ask(testing::get("/v1/models", "Authorization: Bearer sekrit\r\n")).status, 200);
  EXPECT_EQ(ask(testing::get("/health")).status, 200);  // outside /v1: open, as vLLM's
}

TEST_F(HttpServerTest, ManyConcurrentStreams) {
  constexpr int kStreams = 256;  // the issue's bar for 2 cores
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kStreams; ++i)
    clients.emplace_back([&] {
      RawConnection c(server_->port(), 30);
      c.send(testing::post("/v1/completions", R"({"prompt":"p","max_tokens":20,"stream":true})"));
      const auto r = c.read_response();
      const auto frames = sse_data(r.body);
      if (r.status == 200 && frames.size() == 22 && frames.back() == "[DONE]") ++ok;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, kStreams);
}

TEST_F(HttpServerTest, StopEndsOpenStreams) {
  RawConnection c(server_->port());
  c.send(testing::post("/v1/completions", R"({"prompt":"hang","stream":true})"));
  while (engine_.in_flight() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  for (int i = 0; i < 5000 && engine_.in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(engine_.in_flight(), 0u);
}

// The engine outlives the server and goes on calling (and at last dropping)
// the callbacks of jobs the server gave up on: those must touch nothing of the
// server (under ASan a dangling strand or core is a heap-use-after-free).
TEST_F(HttpServerTest, EngineEventsAfterTheServerIsGoneTouchNothing) {
  engine_.ignore_cancels();
  RawConnection streamed(server_->port()), whole(server_->port());
  streamed.send(testing::post("/v1/completions", R"({"prompt":"hang","stream":true})"));
  whole.send(testing::post("/v1/completions", R"({"prompt":"hang","n":2})"));
  while (engine_.in_flight() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_.reset();  // gives the unanswered cancels its grace period, then goes
  EXPECT_EQ(engine_.cancelled().size(), 3u);
  const auto before = engine_.in_flight();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // deltas into the void
  EXPECT_EQ(engine_.in_flight(), before);
}  // the engine's shutdown ends the jobs: terminal events, callbacks dropped

}  // namespace
}  // namespace loom::http
