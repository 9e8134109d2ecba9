// Backend frames read back with msgpack's generic unpacker (not our
// decoder): keys, types and values as PROTOCOL.md lists them. Then the
// client-side codec round trips.
#include <gtest/gtest.h>

#include <map>

#include "adapters/zmq/codec.h"
#include "tests/zmq/checked_decode.h"
#include "tests/zmq/msgpack_builder.h"

namespace loom::zmq_proto {
namespace {

// Top-level map of a frame: key -> object (kept alive by the handle).
struct Generic {
  msgpack::object_handle handle;
  std::map<std::string, msgpack::object> keys;
};

Generic unpack_map(const std::string& frame) {
  Generic g{msgpack::unpack(frame.data(), frame.size()), {}};
  const msgpack::object& root = g.handle.get();
  EXPECT_EQ(root.type, msgpack::type::MAP);
  for (uint32_t i = 0; i < root.via.map.size; ++i) {
    g.keys[root.via.map.ptr[i].key.as<std::string>()] = root.via.map.ptr[i].val;
  }
  return g;
}

std::set<std::string> key_set(const Generic& g) {
  std::set<std::string> out;
  for (const auto& [k, v] : g.keys) out.insert(k);
  return out;
}

TEST(ZmqEncode, DeltaHasTheListedFields) {
  JobEvent e;
  e.kind = JobEvent::Kind::kDelta;
  e.id = "engine-side-id";
  e.text = "héllo";
  e.token_ids = {5, 6};
  Generic g = unpack_map(encode_event(e, "client-id", false));
  EXPECT_EQ(key_set(g), (std::set<std::string>{"v", "type", "id", "text", "token_ids"}));
  EXPECT_EQ(g.keys["v"].as<int>(), 1);
  EXPECT_EQ(g.keys["type"].as<std::string>(), "delta");
  EXPECT_EQ(g.keys["id"].as<std::string>(), "client-id");
  EXPECT_EQ(g.keys["text"].as<std::string>(), "héllo");
  EXPECT_EQ(g.keys["token_ids"].as<std::vector<int>>(), (std::vector<int>{5, 6}));
}

TEST(ZmqEncode, DeltaWithLogprobs) {
  JobEvent e;
  e.text = "a";
  e.token_ids = {1};
  e.logprobs = {TokenLogprobs{1, -0.5f, {{1, -0.5f}, {7, -1.25f}}}};
  Generic g = unpack_map(encode_event(e, "c", false));
  const auto& lps = g.keys.at("logprobs").via.array;
  ASSERT_EQ(lps.size, 1u);
  std::map<std::string, msgpack::object> entry;
  for (uint32_t i = 0; i < lps.ptr[0].via.map.size; ++i) {
    entry[lps.ptr[0].via.map.ptr[i].key.as<std::string>()] = lps.ptr[0].via.map.ptr[i].val;
  }
  EXPECT_EQ(entry["token"].as<int>(), 1);
  EXPECT_FLOAT_EQ(entry["logprob"].as<float>(), -0.5f);
  auto top = entry["top"].as<std::vector<std::pair<int, float>>>();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[1].first, 7);
  EXPECT_FLOAT_EQ(top[1].second, -1.25f);
}

TEST(ZmqEncode, DoneStreamedAndWhole) {
  JobEvent e;
  e.kind = JobEvent::Kind::kDone;
  e.finish_reason = FinishReason::kDeadline;
  e.usage = {11, 22, 8};
  e.timing = {1.5, 2.5, 9.0};
  e.text = "whole";
  e.token_ids = {1, 2};
  Generic streamed = unpack_map(encode_event(e, "c", false));
  EXPECT_EQ(key_set(streamed), (std::set<std::string>{"v", "type", "id", "finish_reason", "usage", "timing"}));
  EXPECT_EQ(streamed.keys["finish_reason"].as<std::string>(), "deadline");
  auto usage = streamed.keys["usage"].as<std::map<std::string, int>>();
  EXPECT_EQ(usage, (std::map<std::string, int>{{"prompt_tokens", 11}, {"completion_tokens", 22}, {"cached_tokens", 8}}));
  auto timing = streamed.keys["timing"].as<std::map<std::string, double>>();
  EXPECT_EQ(timing, (std::map<std::string, double>{{"queue_ms", 1.5}, {"ttft_ms", 2.5}, {"total_ms", 9.0}}));
  Generic whole = unpack_map(encode_event(e, "c", true));
  EXPECT_EQ(whole.keys["text"].as<std::string>(), "whole");
  EXPECT_EQ(whole.keys["token_ids"].as<std::vector<int>>(), (std::vector<int>{1, 2}));
}

TEST(ZmqEncode, ErrorWithNilIdAndField) {
  Generic g = unpack_map(encode_error(std::nullopt, {ErrorCode::kTooLong, "prompt", "prompt: too long"}));
  EXPECT_EQ(g.keys["type"].as<std::string>(), "error");
  EXPECT_EQ(g.keys["id"].type, msgpack::type::NIL);
  EXPECT_EQ(g.keys["code"].as<std::string>(), "too_long");
  EXPECT_EQ(g.keys["field"].as<std::string>(), "prompt");
  EXPECT_EQ(g.keys["message"].as<std::string>(), "prompt: too long");
}

TEST(ZmqEncode, EngineErrorEventBecomesErrorMessage) {
  JobEvent e;
  e.kind = JobEvent::Kind::kError;
  e.error_code = ErrorCode::kOverloaded;
  e.message = "queue full";
  Generic g = unpack_map(encode_event(e, "j", false));
  EXPECT_EQ(g.keys["code"].as<std::string>(), "overloaded");
  EXPECT_EQ(g.keys["id"].as<std::string>(), "j");
}

TEST(ZmqEncode, WireNamesAreTheIssueLists) {
  // PROTOCOL.md lists these, in the order of engine_api.h's enums.
  const char* finish[] = {"stop", "length", "cancelled", "deadline"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_STREQ(wire_name(static_cast<FinishReason>(i)), finish[i]);
    EXPECT_EQ(parse_finish_reason(finish[i]), static_cast<FinishReason>(i));
  }
  const char* codes[] = {"bad_request", "too_long", "overloaded", "unavailable", "internal"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_STREQ(wire_name(static_cast<ErrorCode>(i)), codes[i]);
    EXPECT_EQ(parse_error_code(codes[i]), static_cast<ErrorCode>(i));
  }
  EXPECT_FALSE(parse_error_code("oops"));
}

TEST(ZmqEncode, StatsAndHealthKeys) {
  StatsReply s;
  s.engine.waiting = 3;
  s.engine.kv_blocks_total = 100;
  s.jobs_in_flight = 4;
  Generic g = unpack_map(encode_stats(std::string("s1"), s));
  EXPECT_EQ(g.keys["waiting"].as<int>(), 3);
  EXPECT_EQ(g.keys["kv_blocks_total"].as<int>(), 100);
  EXPECT_EQ(g.keys["jobs_in_flight"].as<int>(), 4);
  EXPECT_EQ(g.keys["id"].as<std::string>(), "s1");
  for (const char* k : {"running", "preempted", "kv_blocks_used", "tokens_per_second", "uptime_s", "clients"}) {
    EXPECT_TRUE(g.keys.count(k)) << k;
  }
  HealthReply h{{true, 12.5, "stepping"}, true, 3.0};
  Generic hg = unpack_map(encode_health(std::nullopt, h));
  EXPECT_TRUE(hg.keys["ok"].as<bool>());
  EXPECT_DOUBLE_EQ(hg.keys["last_step_age_ms"].as<double>(), 12.5);
  EXPECT_TRUE(hg.keys["draining"].as<bool>());
  EXPECT_EQ(hg.keys["detail"].as<std::string>(), "stepping");
}

TEST(ZmqClientCodec, GenerateRoundTripsThroughTheBackendDecoder) {
  JobRequest r;
  r.id = "rt";
  r.prompt.value = std::vector<ChatTurn>{{"user", "hi"}};
  r.params.max_tokens = 9;
  r.params.sampling.temperature = 0.0f;
  r.params.sampling.has_seed = true;
  r.params.sampling.seed = 42;
  r.params.stop = {"x"};
  r.params.logprobs = 2;
  r.stream = false;
  r.deadline = std::chrono::milliseconds(100);
  Decoded d = test::checked_decode(encode_generate(r), Limits{});
  ASSERT_FALSE(d.error) << d.error->message;
  const auto& back = std::get<JobRequest>(d.message);
  EXPECT_EQ(back.id, "rt");
  EXPECT_EQ(std::get<std::vector<ChatTurn>>(back.prompt.value)[0].content, "hi");
  EXPECT_EQ(back.params.max_tokens, 9);
  EXPECT_EQ(back.params.sampling.seed, 42u);
  EXPECT_EQ(back.params.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(back.params.logprobs, 2);
  EXPECT_FALSE(back.stream);
  EXPECT_EQ(back.deadline->count(), 100);
  EXPECT_TRUE(d.ignored_fields.empty());
  EXPECT_EQ(std::get<CancelRequest>(test::checked_decode(encode_cancel("z"), Limits{}).message).id, "z");
}

TEST(ZmqClientCodec, ServerFramesDecode) {
  JobEvent e;
  e.kind = JobEvent::Kind::kDone;
  e.finish_reason = FinishReason::kCancelled;
  e.usage.completion_tokens = 3;
  ServerMessage m = decode_server_frame(encode_event(e, "q", false));
  EXPECT_EQ(m.type, ServerMessage::Type::kDone);
  EXPECT_EQ(m.id, "q");
  EXPECT_EQ(m.event.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(m.event.usage.completion_tokens, 3);
  ServerMessage err = decode_server_frame(encode_error(std::nullopt, {ErrorCode::kBadRequest, "v", "v: missing"}));
  EXPECT_FALSE(err.id);
  EXPECT_EQ(err.error_field, "v");
  EXPECT_THROW(decode_server_frame("\xc1"), ProtocolViolation);
  EXPECT_THROW(decode_server_frame(test::pack(test::Map{{"v", 1}, {"type", "nope"}})), ProtocolViolation);
}

}  // namespace
}  // namespace loom::zmq_proto
