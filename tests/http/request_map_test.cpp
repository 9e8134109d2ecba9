// OpenAI bodies -> contract jobs: each field lands where the contract wants
// it; bad input gets a 400 naming the field; unknown fields are ignored.
#include <gtest/gtest.h>

#include "adapters/http/request_map.h"

namespace loom::http {
namespace {

MappedRequest ok(const std::string& body, Api api = Api::kCompletions) {
  auto r = map_request(body, api);
  if (auto* e = std::get_if<HttpError>(&r)) ADD_FAILURE() << "refused: " << e->param << ": " << e->message;
  return std::get<MappedRequest>(r);
}

HttpError refused(const std::string& body, Api api = Api::kCompletions) {
  auto r = map_request(body, api);
  EXPECT_TRUE(std::holds_alternative<HttpError>(r)) << body;
  return std::holds_alternative<HttpError>(r) ? std::get<HttpError>(r) : HttpError{};
}

TEST(HttpRequestMap, CompletionFieldsReachTheJob) {
  const auto m = ok(R"({"model":"m","prompt":"Hi","max_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":40,
    "min_p":0.05,"seed":42,"stop":["a","bc"],"stop_token_ids":[5,6],"ignore_eos":true,"n":3,"stream":true,
    "stream_options":{"include_usage":true},"logprobs":2,"presence_penalty":0.1,"frequency_penalty":0.2,
    "repetition_penalty":1.1,"user":"ignored","future_field":{"x":1}})");
  EXPECT_EQ(m.model, "m");
  EXPECT_EQ(std::get<std::string>(m.job.prompt.value), "Hi");
  EXPECT_EQ(m.job.params.max_tokens, 7);
  EXPECT_FLOAT_EQ(m.job.params.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(m.job.params.sampling.top_p, 0.9f);
  EXPECT_EQ(m.job.params.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(m.job.params.sampling.min_p, 0.05f);
  EXPECT_TRUE(m.job.params.sampling.has_seed);
  EXPECT_EQ(m.job.params.sampling.seed, 42u);
  EXPECT_EQ(m.job.params.stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(m.job.params.stop_token_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_TRUE(m.job.params.ignore_eos);
  EXPECT_EQ(m.n, 3);
  EXPECT_TRUE(m.stream);
  EXPECT_TRUE(m.job.stream);
  EXPECT_TRUE(m.include_usage);
  EXPECT_TRUE(m.logprobs);
  EXPECT_EQ(m.top_logprobs, 2);
  EXPECT_EQ(m.job.params.logprobs, 2);
  EXPECT_FLOAT_EQ(m.job.params.sampling.presence_penalty, 0.1f);
  EXPECT_FLOAT_EQ(m.job.params.sampling.frequency_penalty, 0.2f);
  EXPECT_FLOAT_EQ(m.job.params.sampling.repetition_penalty, 1.1f);
}

TEST(HttpRequestMap, DefaultsAndNulls) {
  const auto m = ok(R"({"prompt":"x","max_tokens":null,"temperature":null,"stop":null,"seed":null})");
  EXPECT_EQ(m.job.params.max_tokens, JobParams{}.max_tokens);
  EXPECT_FALSE(m.job.params.sampling.has_seed);
  EXPECT_FALSE(m.stream);
  EXPECT_FALSE(m.job.stream);
  EXPECT_EQ(m.n, 1);
  EXPECT_FALSE(m.logprobs);
  EXPECT_EQ(m.job.params.logprobs, 0);
}

TEST(HttpRequestMap, PromptForms) {
  EXPECT_EQ(std::get<std::vector<int32_t>>(ok(R"({"prompt":[1,2,3]})").job.prompt.value), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(std::get<std::string>(ok(R"({"prompt":["only"]})").job.prompt.value), "only");
  EXPECT_EQ(refused(R"({"prompt":["a","b"]})").param, "prompt");
  EXPECT_EQ(refused(R"({"prompt":[1,-2]})").param, "prompt[1]");
  EXPECT_EQ(refused(R"({"prompt":5})").param, "prompt");
  EXPECT_EQ(refused(R"({"max_tokens":5})").param, "prompt");
}

TEST(HttpRequestMap, ChatMessages) {
  const auto m = ok(R"({"messages":[{"role":"system","content":"Be brief."},
    {"role":"user","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]},
    {"role":"assistant","content":null,"name":"x"}],"max_completion_tokens":9,"logprobs":true,"top_logprobs":3})",
                    Api::kChat);
  const auto& turns = std::get<std::vector<ChatTurn>>(m.job.prompt.value);
  ASSERT_EQ(turns.size(), 3u);
  EXPECT_EQ(turns[0].role, "system");
  EXPECT_EQ(turns[1].content, "Hello");
  EXPECT_EQ(turns[2].content, "");
  EXPECT_EQ(m.job.params.max_tokens, 9);
  EXPECT_TRUE(m.logprobs);
  EXPECT_EQ(m.top_logprobs, 3);
  EXPECT_EQ(m.job.params.logprobs, 3);
  // Chat with logprobs but no alternatives still asks the engine for the sampled token's.
  EXPECT_EQ(ok(R"({"messages":[{"role":"user","content":"x"}],"logprobs":true})", Api::kChat).job.params.logprobs, 1);
}

TEST(HttpRequestMap, ChatRefusalsNameTheField) {
  EXPECT_EQ(refused(R"({"messages":"hi"})", Api::kChat).param, "messages");
  EXPECT_EQ(refused(R"({"messages":[{"content":"x"}]})", Api::kChat).param, "messages[0].role");
  EXPECT_EQ(refused(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", Api::kChat).param,
            "messages[0].content[0].type");
  EXPECT_EQ(refused(R"({"messages":[{"role":"user","content":"x"}],"logprobs":2})", Api::kChat).param, "logprobs");
  EXPECT_EQ(refused(R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", Api::kChat).param,
            "top_logprobs");
}

TEST(HttpRequestMap, TypeAndRangeErrors) {
  const auto e = refused(R"({"prompt":"x","temperature":"hot"})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "temperature");
  EXPECT_NE(e.message.find("must be a number, got a string"), std::string::npos) << e.message;
  EXPECT_EQ(refused(R"({"prompt":"x","max_tokens":0})").param, "max_tokens");
  EXPECT_EQ(refused(R"({"prompt":"x","max_tokens":1.5})").param, "max_tokens");
  EXPECT_EQ(ok(R"({"prompt":"x","max_tokens":2.0})").job.params.max_tokens, 2);
  EXPECT_EQ(refused(R"({"prompt":"x","max_tokens":99999999999})").param, "max_tokens");
  EXPECT_EQ(refused(R"({"prompt":"x","n":9})").param, "n");
  EXPECT_EQ(refused(R"({"prompt":"x","n":0})").param, "n");
  EXPECT_EQ(refused(R"({"prompt":"x","stop":[1]})").param, "stop[0]");
  EXPECT_EQ(refused(R"({"prompt":"x","stream":"yes"})").param, "stream");
  EXPECT_EQ(refused(R"({"prompt":"x","seed":-1})").param, "seed");
  EXPECT_EQ(refused(R"({"prompt":"x","logprobs":21})").param, "logprobs");
  EXPECT_EQ(refused(R"({"prompt":"x","logprobs":true})").param, "logprobs");
  EXPECT_EQ(refused(R"({"prompt":"x","echo":true})").param, "echo");
  EXPECT_EQ(refused(R"({"prompt":"x","stream_options":{"include_usage":true}})").param, "stream_options");
  EXPECT_EQ(ok(R"({"prompt":"x","top_k":-1})").job.params.sampling.top_k, 0);  // vLLM's "off"
}

TEST(HttpRequestMap, MalformedBodies) {
  for (const char* body : {"", "{", "[1,2]", "\"str\"", "{\"prompt\":\"x\"} trailing", "{\"prompt\":\"\xff\"}"}) {
    const auto e = refused(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.param, "") << body;
  }
  std::string deep(100000, '[');
  EXPECT_NE(refused(deep).message.find("nests deeper"), std::string::npos);
}

TEST(HttpRequestMap, TokenizeAndDetokenize) {
  auto t = map_tokenize(R"({"prompt":"a b","add_special_tokens":false,"model":"m"})");
  ASSERT_TRUE(std::holds_alternative<TokenizeRequest>(t));
  EXPECT_EQ(std::get<TokenizeRequest>(t).prompt, "a b");
  EXPECT_FALSE(std::get<TokenizeRequest>(t).add_special);
  EXPECT_EQ(std::get<HttpError>(map_tokenize(R"({"prompt":3})")).param, "prompt");
  auto d = map_detokenize(R"({"tokens":[1,2]})");
  ASSERT_TRUE(std::holds_alternative<DetokenizeRequest>(d));
  EXPECT_EQ(std::get<DetokenizeRequest>(d).tokens, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(std::get<HttpError>(map_detokenize(R"({"tokens":["a"]})")).param, "tokens[0]");
}

TEST(HttpRequestMap, EngineErrorsMapToStatuses) {
  EXPECT_EQ(from_engine_error(ErrorCode::kBadRequest, "top_p", "m").status, 400);
  EXPECT_EQ(from_engine_error(ErrorCode::kBadRequest, "top_p", "m").param, "top_p");
  EXPECT_EQ(from_engine_error(ErrorCode::kTooLong, "prompt_tokens", "m").param, "prompt");
  const auto o = from_engine_error(ErrorCode::kOverloaded, "", "full");
  EXPECT_EQ(o.status, 429);
  EXPECT_GT(o.retry_after_s, 0);
  EXPECT_EQ(from_engine_error(ErrorCode::kUnavailable, "", "m").status, 503);
}

}  // namespace
}  // namespace loom::http
