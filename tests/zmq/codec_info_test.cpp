// `tokenize`, `detokenize`, `model_info` on the wire: requests decode to what
// was encoded, replies likewise, and bad frames name their field.
#include <gtest/gtest.h>

#include "adapters/zmq/codec.h"
#include "tests/zmq/msgpack_builder.h"

namespace loom::zmq_proto {
namespace {

Decoded decode(const std::string& frame) { return decode_client_frame(frame, Limits{}); }

std::string packed(const test::Map& m) { return test::pack(test::Value(m)); }

TEST(ZmqCodecInfo, RequestsRoundTrip) {
  Decoded t = decode(encode_tokenize_request("a", "Hello <s>", false, true));
  ASSERT_FALSE(t.error) << t.error->message;
  const auto& tr = std::get<TokenizeRequest>(t.message);
  EXPECT_EQ(tr.id, "a");
  EXPECT_EQ(tr.text, "Hello <s>");
  EXPECT_FALSE(tr.add_special);
  EXPECT_TRUE(tr.parse_special);
  Decoded d = decode(encode_detokenize_request("b", {1, 2, 70000}));
  ASSERT_FALSE(d.error);
  EXPECT_EQ(std::get<DetokenizeRequest>(d.message).ids, (std::vector<int32_t>{1, 2, 70000}));
  Decoded m = decode(encode_model_info_request("c"));
  ASSERT_FALSE(m.error);
  EXPECT_EQ(std::get<ModelInfoRequest>(m.message).id, "c");
}

TEST(ZmqCodecInfo, DefaultsAndErrors) {
  Decoded t = decode(packed({{"v", 1}, {"type", "tokenize"}, {"id", "x"}, {"text", "hi"}}));
  ASSERT_FALSE(t.error);
  EXPECT_TRUE(std::get<TokenizeRequest>(t.message).add_special);
  EXPECT_FALSE(std::get<TokenizeRequest>(t.message).parse_special);
  Decoded no_id = decode(packed({{"v", 1}, {"type", "model_info"}}));
  ASSERT_TRUE(no_id.error);
  EXPECT_EQ(no_id.error->field, "id");
  Decoded no_text = decode(packed({{"v", 1}, {"type", "tokenize"}, {"id", "x"}}));
  ASSERT_TRUE(no_text.error);
  EXPECT_EQ(no_text.error->field, "text");
  Decoded bad_ids = decode(packed({{"v", 1}, {"type", "detokenize"}, {"id", "x"},
                                   {"token_ids", test::Array{"a"}}}));
  ASSERT_TRUE(bad_ids.error);
  EXPECT_EQ(bad_ids.error->field, "token_ids[0]");
}

TEST(ZmqCodecInfo, RepliesRoundTrip) {
  auto t = decode_server_frame(encode_tokenize_reply("a", {5, 6}));
  EXPECT_EQ(t.type, ServerMessage::Type::kTokenize);
  EXPECT_EQ(*t.id, "a");
  EXPECT_EQ(t.event.token_ids, (std::vector<int32_t>{5, 6}));
  auto d = decode_server_frame(encode_detokenize_reply("b", "héllo"));
  EXPECT_EQ(d.type, ServerMessage::Type::kDetokenize);
  EXPECT_EQ(d.event.text, "héllo");
  auto m = decode_server_frame(encode_model_info_reply("c", ModelInfo{"smol", 2048, 49152, {0, 2}}));
  EXPECT_EQ(m.type, ServerMessage::Type::kModelInfo);
  EXPECT_EQ(m.model.name, "smol");
  EXPECT_EQ(m.model.max_context, 2048);
  EXPECT_EQ(m.model.n_vocab, 49152);
  EXPECT_EQ(m.model.eos_ids, (std::vector<int32_t>{0, 2}));
}

}  // namespace
}  // namespace loom::zmq_proto
