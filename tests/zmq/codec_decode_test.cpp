// decode_client_frame, then the contract's check mapped onto v1 names:
// accepted frames map field by field; every rejection names its field and
// code (PROTOCOL.md "Errors").
#include <gtest/gtest.h>

#include "adapters/zmq/codec.h"
#include "tests/zmq/checked_decode.h"
#include "tests/zmq/msgpack_builder.h"

namespace loom::zmq_proto {
namespace {

using test::Array;
using test::Map;
using test::pack;

Decoded parse(const test::Value& v, const Limits& limits = {}) { return test::checked_decode(pack(v), limits); }

TEST(ZmqDecode, FullGenerateMapsEveryField) {
  Map params{{"max_tokens", 7}, {"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 40},
             {"min_p", 0.05}, {"seed", int64_t{1234567890123}}, {"stop", Array{"\n\n", "END"}},
             {"stop_token_ids", Array{2, 3}}, {"ignore_eos", true}, {"repetition_penalty", 1.1},
             {"presence_penalty", 0.25}, {"frequency_penalty", -0.5}, {"logprobs", 3}};
  Map m = test::generate_frame("abc", "Once upon");
  test::set(m, "params", params);
  test::set(m, "stream", false);
  test::set(m, "priority", -3);
  test::set(m, "deadline_ms", 1500);
  Decoded d = parse(m);
  ASSERT_FALSE(d.error) << d.error->message;
  const auto& job = std::get<JobRequest>(d.message);
  EXPECT_EQ(job.id, "abc");
  EXPECT_EQ(std::get<std::string>(job.prompt.value), "Once upon");
  EXPECT_EQ(job.params.max_tokens, 7);
  EXPECT_FLOAT_EQ(job.params.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(job.params.sampling.top_p, 0.9f);
  EXPECT_EQ(job.params.sampling.top_k, 40);
  EXPECT_FLOAT_EQ(job.params.sampling.min_p, 0.05f);
  EXPECT_TRUE(job.params.sampling.has_seed);
  EXPECT_EQ(job.params.sampling.seed, 1234567890123u);
  EXPECT_EQ(job.params.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(job.params.stop_token_ids, (std::vector<int32_t>{2, 3}));
  EXPECT_TRUE(job.params.ignore_eos);
  EXPECT_FLOAT_EQ(job.params.sampling.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(job.params.sampling.presence_penalty, 0.25f);
  EXPECT_FLOAT_EQ(job.params.sampling.frequency_penalty, -0.5f);
  EXPECT_EQ(job.params.logprobs, 3);
  EXPECT_EQ(job.params.sampling.top_logprobs, 3);
  EXPECT_FALSE(job.stream);
  EXPECT_EQ(job.priority, -3);
  ASSERT_TRUE(job.deadline);
  EXPECT_EQ(job.deadline->count(), 1500);
  EXPECT_TRUE(d.ignored_fields.empty());
}

TEST(ZmqDecode, DefaultsWhenAbsentOrNil) {
  Map m = test::generate_frame();
  test::set(m, "params", Map{{"seed", nullptr}, {"temperature", nullptr}});
  Decoded d = parse(m);
  ASSERT_FALSE(d.error) << d.error->message;
  const auto& job = std::get<JobRequest>(d.message);
  const JobParams defaults;
  EXPECT_EQ(job.params.max_tokens, defaults.max_tokens);
  EXPECT_FALSE(job.params.sampling.has_seed);
  EXPECT_FLOAT_EQ(job.params.sampling.temperature, defaults.sampling.temperature);
  EXPECT_TRUE(job.stream);
  EXPECT_EQ(job.priority, 0);
  EXPECT_FALSE(job.deadline);
}

TEST(ZmqDecode, InputIdsAndMessages) {
  Map ids{{"v", 1}, {"type", "generate"}, {"id", "x"}, {"input_ids", Array{1, 2, 49151}}};
  Decoded d = parse(ids);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_EQ(std::get<std::vector<int32_t>>(std::get<JobRequest>(d.message).prompt.value),
            (std::vector<int32_t>{1, 2, 49151}));
  Map chat{{"v", 1}, {"type", "generate"}, {"id", "x"},
           {"messages", Array{Map{{"role", "system"}, {"content", "Be brief."}},
                              Map{{"role", "user"}, {"content", "Hi"}, {"name", "bob"}}}}};
  d = parse(chat);
  ASSERT_FALSE(d.error) << d.error->message;
  const auto& turns = std::get<std::vector<ChatTurn>>(std::get<JobRequest>(d.message).prompt.value);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[1].role, "user");
  EXPECT_EQ(turns[1].content, "Hi");
  EXPECT_EQ(d.ignored_fields, (std::vector<std::string>{"messages[1].name"}));
}

TEST(ZmqDecode, UnknownFieldsAreIgnoredAndListed) {
  Map m = test::generate_frame();
  test::set(m, "future_field", Map{{"x", 1}});
  test::set(m, "params", Map{{"max_tokens", 4}, {"mirostat", 2}});
  Decoded d = parse(m);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_EQ(d.ignored_fields, (std::vector<std::string>{"params.mirostat", "future_field"}));
}

TEST(ZmqDecode, CancelStatsHealth) {
  Decoded d = parse(Map{{"v", 1}, {"type", "cancel"}, {"id", "j9"}});
  ASSERT_FALSE(d.error);
  EXPECT_EQ(std::get<CancelRequest>(d.message).id, "j9");
  d = parse(Map{{"v", 1}, {"type", "stats"}});
  ASSERT_FALSE(d.error);
  EXPECT_FALSE(std::get<StatsRequest>(d.message).id);
  d = parse(Map{{"v", 1}, {"type", "health"}, {"id", "h"}});
  ASSERT_FALSE(d.error);
  EXPECT_EQ(std::get<HealthRequest>(d.message).id, "h");
}

TEST(ZmqDecode, IdAtTheLimitIsAcceptedOneMoreIsNot) {
  EXPECT_FALSE(parse(test::generate_frame(std::string(128, 'a'))).error);
  Decoded d = parse(test::generate_frame(std::string(129, 'a')));
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->field, "id");
  EXPECT_FALSE(d.id);  // a bad id is not echoed
}

// One rejection: the frame, then what the error must say.
struct Rejection {
  const char* name;
  std::string frame;
  ErrorCode code;
  std::string field;
  std::string says;        // substring of the message
  bool id_known = false;   // the reply can carry the request's id
};

Map with(Map m, const std::string& key, test::Value v) { return test::set(m, key, std::move(v)); }
Map without(Map m, const std::string& key) { return test::erase(m, key); }
Map with_param(const std::string& key, test::Value v) {
  return with(test::generate_frame(), "params", Map{{key, std::move(v)}});
}

std::vector<Rejection> rejections() {
  const Map g = test::generate_frame();
  const ErrorCode bad = ErrorCode::kBadRequest;
  Array many_stops(17, test::Value("s"));
  std::string deep(100, '\x91');
  deep += '\xc0';
  return {
      {"empty frame", "", bad, "", "empty frame"},
      {"reserved byte", std::string("\xc1", 1), bad, "", "malformed"},
      {"truncated map", std::string("\x83\xa1v\x01", 4), bad, "", "truncated"},
      {"huge declared array", std::string("\xdd\xff\xff\xff\xff", 5), bad, "", "truncated"},
      {"trailing bytes", pack(g) + "x", bad, "", "trailing bytes"},
      {"too deep", deep, bad, "", "nesting deeper"},
      {"not a map", pack(Array{1, 2}), bad, "", "expected a map at the top level, got array"},
      {"non-string key", std::string("\x81\x01\x02", 3), bad, "", "keys must be strings"},
      {"duplicate key", pack(Map{{"v", 1}, {"v", 1}}), bad, "v", "duplicate key"},
      {"missing v", pack(without(g, "v")), bad, "v", "missing", true},
      {"v not int", pack(with(g, "v", "1")), bad, "v", "expected integer, got string", true},
      {"v = 2", pack(with(g, "v", 2)), bad, "v", "unsupported protocol version 2", true},
      {"missing type", pack(without(g, "type")), bad, "type", "missing", true},
      {"type not string", pack(with(g, "type", 5)), bad, "type", "expected string, got integer", true},
      {"unknown type", pack(with(g, "type", "explode")), bad, "type", "unknown type \"explode\"", true},
      {"missing id", pack(without(g, "id")), bad, "id", "missing"},
      {"id not string", pack(with(g, "id", 7)), bad, "id", "expected string, got integer"},
      {"empty id", pack(with(g, "id", "")), bad, "id", "must not be empty", true},
      {"cancel without id", pack(Map{{"v", 1}, {"type", "cancel"}}), bad, "id", "missing"},
      {"no prompt", pack(without(g, "prompt")), bad, "prompt", "got none", true},
      {"two prompts", pack(with(g, "input_ids", Array{1})), bad, "prompt", "got prompt and input_ids", true},
      {"prompt not string", pack(with(g, "prompt", 3)), bad, "prompt", "expected string, got integer", true},
      {"empty prompt", pack(with(g, "prompt", "")), bad, "prompt", "must not be empty", true},
      {"bad utf8", pack(with(g, "prompt", "ab\xff")), bad, "prompt", "invalid UTF-8 at byte 2", true},
      {"overlong utf8", pack(with(g, "prompt", "\xc0\xaf")), bad, "prompt", "invalid UTF-8 at byte 0", true},
      {"input_ids not ints", pack(with(without(g, "prompt"), "input_ids", Array{1, "a"})), bad, "input_ids[1]",
       "expected integer, got string", true},
      {"negative token", pack(with(without(g, "prompt"), "input_ids", Array{-1})), bad, "input_ids[0]",
       "got -1", true},
      {"empty input_ids", pack(with(without(g, "prompt"), "input_ids", Array{})), bad, "input_ids",
       "must not be empty", true},
      {"messages not array", pack(with(without(g, "prompt"), "messages", "hi")), bad, "messages",
       "expected array, got string", true},
      {"message without role", pack(with(without(g, "prompt"), "messages", Array{Map{{"content", "x"}}})), bad,
       "messages[0].role", "missing", true},
      {"message content int", pack(with(without(g, "prompt"), "messages",
                                        Array{Map{{"role", "user"}, {"content", 1}}})),
       bad, "messages[0].content", "expected string, got integer", true},
      {"message not map", pack(with(without(g, "prompt"), "messages", Array{"hi"})), bad, "messages[0]",
       "expected map, got string", true},
      {"empty messages", pack(with(without(g, "prompt"), "messages", Array{})), bad, "messages",
       "must not be empty", true},
      {"params not map", pack(with(g, "params", Array{})), bad, "params", "expected map, got array", true},
      {"max_tokens 0", pack(with_param("max_tokens", 0)), bad, "params.max_tokens", "must be >= 1", true},
      {"max_tokens string", pack(with_param("max_tokens", "9")), bad, "params.max_tokens",
       "expected integer, got string", true},
      {"max_tokens float", pack(with_param("max_tokens", 9.5)), bad, "params.max_tokens",
       "expected integer, got float", true},
      {"max_tokens huge", pack(with_param("max_tokens", int64_t{1} << 40)), bad, "params.max_tokens",
       "expected integer in", true},
      {"top_p 1.5", pack(with_param("top_p", 1.5)), bad, "params.top_p", "in (0, 1]", true},
      {"temperature -1", pack(with_param("temperature", -1.0)), bad, "params.temperature", ">= 0", true},
      {"temperature string", pack(with_param("temperature", "hot")), bad, "params.temperature",
       "expected number, got string", true},
      {"top_k -1", pack(with_param("top_k", -1)), bad, "params.top_k", ">= 0", true},
      {"min_p 2", pack(with_param("min_p", 2.0)), bad, "params.min_p", "in [0, 1]", true},
      {"repetition_penalty 0", pack(with_param("repetition_penalty", 0.0)), bad, "params.repetition_penalty",
       "> 0", true},
      {"seed negative", pack(with_param("seed", -5)), bad, "params.seed", "non-negative", true},
      {"logprobs 21", pack(with_param("logprobs", 21)), bad, "params.logprobs", "[0, 20], got 21", true},
      {"too many stops", pack(with_param("stop", many_stops)), bad, "params.stop", "at most 16 strings, got 17",
       true},
      {"stop too long", pack(with_param("stop", Array{std::string(257, 'x')})), bad, "params.stop[0]",
       "at most 256 bytes", true},
      {"stop empty", pack(with_param("stop", Array{""})), bad, "params.stop[0]", "must not be empty", true},
      {"stop not strings", pack(with_param("stop", Array{1})), bad, "params.stop[0]",
       "expected string, got integer", true},
      {"ignore_eos int", pack(with_param("ignore_eos", 1)), bad, "params.ignore_eos", "expected bool", true},
      {"stream string", pack(with(g, "stream", "yes")), bad, "stream", "expected bool, got string", true},
      {"deadline 0", pack(with(g, "deadline_ms", 0)), bad, "deadline_ms", "got 0", true},
      {"priority huge", pack(with(g, "priority", 5000)), bad, "priority", "got 5000", true},
      {"prompt too long", pack(with(g, "prompt", std::string((512 << 10) + 1, 'a'))), ErrorCode::kTooLong,
       "prompt", "more than", true},
  };
}

TEST(ZmqDecode, EveryRejectionNamesItsFieldAndCode) {
  for (const Rejection& r : rejections()) {
    SCOPED_TRACE(r.name);
    Decoded d = test::checked_decode(r.frame, Limits{});
    ASSERT_TRUE(d.error) << "accepted";
    EXPECT_EQ(wire_name(d.error->code), std::string(wire_name(r.code)));
    EXPECT_EQ(d.error->field, r.field) << d.error->message;
    EXPECT_NE(d.error->message.find(r.says), std::string::npos) << d.error->message;
    EXPECT_EQ(d.id.has_value(), r.id_known) << d.error->message;
  }
}

TEST(ZmqDecode, OversizedFrameIsTooLongBeforeDecoding) {
  Limits limits;
  limits.max_frame_bytes = 100;
  Decoded d = test::checked_decode(pack(test::generate_frame("j", std::string(200, 'a'))), limits);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->code, ErrorCode::kTooLong);
  EXPECT_NE(d.error->message.find("exceeds the limit of 100"), std::string::npos);
  EXPECT_FALSE(d.id);
}

}  // namespace
}  // namespace loom::zmq_proto
