// Reading a host's loom_job_request: older, smaller layouts get defaults for
// the fields they lack; bad fields are named. (The same code runs inside the
// .so; plugin_model_test.cpp checks an old layout end to end.)
#include <gtest/gtest.h>

#include <cstring>

#include "backends/common/plugin/errors.h"
#include "backends/common/plugin/request_reader.h"

using loom::plugin::PluginError;
using loom::plugin::read_job_request;

namespace {

// A "v1.0" host's request: today's layout without priority, deadline_ms and
// stream (as if those were appended in a later minor version).
struct OldRequest {
  size_t struct_size;
  loom_str id;
  int32_t prompt_kind;
  loom_str prompt_text;
  const int32_t* prompt_tokens;
  size_t n_prompt_tokens;
  const loom_chat_message* const* messages;
  size_t n_messages;
  int32_t max_tokens;
  float temperature, top_p;
  int32_t top_k;
  float min_p, repetition_penalty, presence_penalty, frequency_penalty;
  int32_t has_seed;
  uint64_t seed;
  const loom_str* stop;
  size_t n_stop;
  const int32_t* stop_token_ids;
  size_t n_stop_token_ids;
  int32_t ignore_eos;
  int32_t logprobs;
};
static_assert(sizeof(OldRequest) == offsetof(loom_job_request, priority), "a prefix of today's layout");

std::string error_of(const loom_job_request& r) {
  try {
    read_job_request(r);
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_INVALID_ARGUMENT);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(PluginRequestReader, OlderLayoutGetsDefaultsNotGarbage) {
  // The old struct sits in a buffer whose bytes past its end are garbage
  // that would be a non-stream, priority -1, deadline -1 ms job if read.
  union {
    loom_job_request full;
    unsigned char bytes[sizeof(loom_job_request)];
  } buf;
  std::memset(buf.bytes, 0xFF, sizeof(buf.bytes));
  OldRequest old{};
  old.struct_size = sizeof(OldRequest);
  old.id = {"job", 3};
  old.prompt_kind = LOOM_PROMPT_TEXT;
  old.prompt_text = {"hello", 5};
  old.max_tokens = 7;
  old.temperature = 0.0f;
  old.top_p = 1.0f;
  old.repetition_penalty = 1.0f;
  std::memcpy(buf.bytes, &old, sizeof(old));
  static_assert(sizeof(OldRequest) <= sizeof(loom_job_request));
  // 0xFF over `stream` reads as -1 (true), so poison it to 0 to make a wrong read visible.
  buf.full.stream = 0;

  const loom::JobRequest job = read_job_request(buf.full);
  EXPECT_EQ(job.id, "job");
  EXPECT_EQ(std::get<std::string>(job.prompt.value), "hello");
  EXPECT_EQ(job.params.max_tokens, 7);
  EXPECT_EQ(job.params.sampling.temperature, 0.0f);
  EXPECT_TRUE(job.stream) << "stream lies past the host's struct_size: default 1";
  EXPECT_EQ(job.priority, 0);
  EXPECT_FALSE(job.deadline.has_value());
}

TEST(PluginRequestReader, FullLayoutReadsEveryField) {
  loom_job_request r;
  loom_job_request_init(&r);
  const int32_t ids[] = {1, 2, 3};
  const loom_str stops[] = {{"END", 3}};
  const int32_t stop_ids[] = {9};
  r.id = {"x", 1};
  r.prompt_kind = LOOM_PROMPT_TOKENS;
  r.prompt_tokens = ids;
  r.n_prompt_tokens = 3;
  r.top_k = 5;
  r.stop = stops;
  r.n_stop = 1;
  r.stop_token_ids = stop_ids;
  r.n_stop_token_ids = 1;
  r.priority = 3;
  r.deadline_ms = 250;
  r.stream = 0;
  const loom::JobRequest job = read_job_request(r);
  EXPECT_EQ(std::get<std::vector<int32_t>>(job.prompt.value), std::vector<int32_t>({1, 2, 3}));
  EXPECT_EQ(job.params.sampling.top_k, 5);
  EXPECT_EQ(job.params.stop, std::vector<std::string>({"END"}));
  EXPECT_EQ(job.params.stop_token_ids, std::vector<int32_t>({9}));
  EXPECT_EQ(job.priority, 3);
  EXPECT_EQ(job.deadline->count(), 250);
  EXPECT_FALSE(job.stream);
}

TEST(PluginRequestReader, BadFieldsAreNamed) {
  loom_job_request r;
  loom_job_request_init(&r);
  r.prompt_text = {"hi", 2};
  EXPECT_NE(error_of(r).find("id must be 1..128 bytes, got 0"), std::string::npos) << error_of(r);
  r.id = {"a", 1};
  r.struct_size = 16;
  EXPECT_NE(error_of(r).find("struct_size 16 is below the v1.0 minimum"), std::string::npos) << error_of(r);
  r.struct_size = sizeof(r);
  r.prompt_kind = 7;
  EXPECT_NE(error_of(r).find("prompt_kind must be"), std::string::npos) << error_of(r);
  r.prompt_kind = LOOM_PROMPT_TOKENS;
  r.n_prompt_tokens = 4;
  EXPECT_NE(error_of(r).find("prompt_tokens is NULL but its count is 4"), std::string::npos) << error_of(r);
  r.prompt_kind = LOOM_PROMPT_MESSAGES;
  const loom_chat_message* msgs[] = {nullptr};
  r.messages = msgs;
  r.n_messages = 1;
  EXPECT_NE(error_of(r).find("messages[0] is NULL"), std::string::npos) << error_of(r);
  r.prompt_kind = LOOM_PROMPT_TEXT;
  r.top_p = 1.5f;
  EXPECT_NE(error_of(r).find("top_p"), std::string::npos) << error_of(r);
  r.top_p = 1.0f;
  r.max_tokens = 0;
  EXPECT_NE(error_of(r).find("max_tokens must be >= 1, got 0"), std::string::npos) << error_of(r);
}
