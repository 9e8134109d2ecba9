// Response, SSE and metrics encoding: shapes as the OpenAI API and the
// Prometheus text format define them, read back with an independent parser.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "adapters/http/http_wire.h"
#include "adapters/http/metrics.h"
#include "adapters/http/response.h"

namespace loom::http {
namespace {

using json = nlohmann::json;

std::string text_of(int32_t id) { return "<" + std::to_string(id) + ">"; }

ResponseMeta meta(Api api) {
  ResponseMeta m;
  m.api = api;
  m.id = "x-1";
  m.created = 1700000000;
  m.model = "m";
  return m;
}

TEST(HttpEncode, ChatResponse) {
  ChoicePiece c;
  c.text = "Hello";
  c.finish = FinishReason::kLength;
  const json j = json::parse(encode_response(meta(Api::kChat), {c}, JobUsage{4, 5, 0}, text_of));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(j["usage"]["total_tokens"], 9);
}

TEST(HttpEncode, CompletionLogprobsJoinToText) {
  auto m = meta(Api::kCompletions);
  m.logprobs = true;
  m.top_logprobs = 1;
  ChoicePiece c;
  c.text = "<1><22>";
  c.logprobs = {TokenLogprobs{1, -0.25f, {{1, -0.25f}, {3, -2.f}}}, TokenLogprobs{22, -1.f, {{22, -1.f}}}};
  c.finish = FinishReason::kStop;
  const json j = json::parse(encode_response(m, {c}, {}, text_of));
  const auto& lp = j["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"], json({"<1>", "<22>"}));
  EXPECT_EQ(lp["text_offset"], json({0, 3}));
  EXPECT_FLOAT_EQ(lp["token_logprobs"][0].get<float>(), -0.25f);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 1u);  // only top_logprobs alternatives
  EXPECT_EQ(j["object"], "text_completion");
}

TEST(HttpEncode, ChatChunksAndUsage) {
  auto m = meta(Api::kChat);
  ChoicePiece first;
  first.first = true;
  first.text = "Hi";
  const json a = json::parse(encode_chunk(m, first, text_of));
  EXPECT_EQ(a["object"], "chat.completion.chunk");
  EXPECT_EQ(a["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(a["choices"][0]["delta"]["content"], "Hi");
  EXPECT_TRUE(a["choices"][0]["finish_reason"].is_null());
  ChoicePiece last;
  last.finish = FinishReason::kCancelled;
  const json b = json::parse(encode_chunk(m, last, text_of));
  EXPECT_TRUE(b["choices"][0]["delta"].empty());
  EXPECT_EQ(b["choices"][0]["finish_reason"], "abort");
  const json u = json::parse(encode_usage_chunk(m, JobUsage{2, 3, 0}));
  EXPECT_TRUE(u["choices"].empty());
  EXPECT_EQ(u["usage"]["completion_tokens"], 3);
}

TEST(HttpEncode, FinishReasons) {
  EXPECT_STREQ(finish_reason_wire(FinishReason::kStop), "stop");
  EXPECT_STREQ(finish_reason_wire(FinishReason::kLength), "length");
  EXPECT_STREQ(finish_reason_wire(FinishReason::kDeadline), "abort");
}

TEST(HttpEncode, ErrorShape) {
  HttpError e = bad_request("top_p", "bad");
  const json j = json::parse(error_body(e));
  EXPECT_EQ(j["error"]["message"], "bad");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "top_p");
  EXPECT_EQ(j["error"]["code"], "bad_request");
  EXPECT_TRUE(json::parse(error_body(HttpError{}))["error"]["param"].is_null());
}

TEST(HttpEncode, SseAndChunks) {
  EXPECT_EQ(sse_frame("{}"), "data: {}\n\n");
  EXPECT_EQ(chunk("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(chunk(std::string(255, 'x')).substr(0, 4), "ff\r\n");
  const std::string r = http_response(429, "application/json", "{}", true, {{"Retry-After", "1"}});
  EXPECT_EQ(r.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Length: 2\r\n"), std::string::npos);
  EXPECT_NE(r.find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 6), "\r\n\r\n{}");
}

TEST(HttpMetrics, Buckets125) {
  EXPECT_EQ(buckets_1_2_5(100), (std::vector<double>{1, 2, 5, 10, 20, 50, 100}));
  EXPECT_EQ(buckets_1_2_5(2048).back(), 2000);
}

// Parses the exposition: every sample line is `name{labels} value`, each
// histogram's buckets are cumulative and end in +Inf == _count.
TEST(HttpMetrics, ExpositionIsConsistent) {
  DoorMetrics m(2048);
  m.record_finished(FinishedJob{FinishReason::kStop, 10, 20, 0.01, 0.05, 1.2});
  m.record_finished(FinishedJob{FinishReason::kCancelled, 3, 1, 0.0, 0.2, 0.4});
  m.record_inter_token(0.02, 19);
  EngineStats s;
  s.running = 2;
  s.waiting = 1;
  s.preempted = 1;
  s.kv_blocks_used = 25;
  s.kv_blocks_total = 100;
  s.prompt_tokens_total = 13;
  const std::string text = m.render(s, "my \"model\"");
  std::map<std::string, double> samples;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  const std::string l = "model_name=\"my \\\"model\\\"\"";
  EXPECT_EQ(samples["vllm:num_requests_running{" + l + "}"], 2);
  EXPECT_EQ(samples["vllm:num_requests_waiting{" + l + "}"], 2);
  EXPECT_DOUBLE_EQ(samples["vllm:kv_cache_usage_perc{" + l + "}"], 0.25);
  EXPECT_EQ(samples["vllm:prompt_tokens_total{" + l + "}"], 13);
  EXPECT_EQ(samples["vllm:request_success_total{" + l + ",finished_reason=\"stop\"}"], 1);
  EXPECT_EQ(samples["vllm:request_success_total{" + l + ",finished_reason=\"abort\"}"], 1);
  EXPECT_EQ(samples["vllm:request_success_total{" + l + ",finished_reason=\"length\"}"], 0);
  EXPECT_EQ(samples["vllm:time_to_first_token_seconds_bucket{" + l + ",le=\"0.06\"}"], 1);
  EXPECT_EQ(samples["vllm:time_to_first_token_seconds_bucket{" + l + ",le=\"+Inf\"}"], 2);
  EXPECT_EQ(samples["vllm:time_to_first_token_seconds_count{" + l + "}"], 2);
  EXPECT_DOUBLE_EQ(samples["vllm:time_to_first_token_seconds_sum{" + l + "}"], 0.25);
  EXPECT_EQ(samples["vllm:inter_token_latency_seconds_count{" + l + "}"], 19);
  EXPECT_EQ(samples["vllm:inter_token_latency_seconds_bucket{" + l + ",le=\"0.01\"}"], 0);
  EXPECT_EQ(samples["vllm:inter_token_latency_seconds_bucket{" + l + ",le=\"0.025\"}"], 19);
  EXPECT_EQ(samples["vllm:request_generation_tokens_bucket{" + l + ",le=\"20.0\"}"], 2);
  EXPECT_EQ(samples["vllm:e2e_request_latency_seconds_bucket{" + l + ",le=\"0.5\"}"], 1);
  for (const char* h : {"vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds",
                        "vllm:request_prompt_tokens", "vllm:request_generation_tokens"})
    EXPECT_EQ(samples[std::string(h) + "_count{" + l + "}"], 2) << h;
}

}  // namespace
}  // namespace loom::http
