// The one request check (contract/validate.h): every limit is enforced at
// its boundary (the limit passes, one past it fails with the right code and
// field), and UTF-8 validity follows RFC 3629.
#include <gtest/gtest.h>

#include <cmath>

#include "contract/validate.h"

namespace {

using loom::ErrorCode;
using loom::JobRequest;
using loom::validate_job;

JobRequest text_job(std::string prompt = "hello") {
  JobRequest j;
  j.id = "j";
  j.prompt.value = std::move(prompt);
  return j;
}

std::string field_of(const JobRequest& j) {
  auto e = validate_job(j);
  return e ? e->field : "";
}

TEST(ContractValidate, AValidJobPasses) { EXPECT_FALSE(validate_job(text_job()).has_value()); }

TEST(ContractValidate, LimitsHoldAtTheirBoundary) {
  loom::JobLimits l;
  JobRequest j = text_job(std::string(l.max_prompt_bytes, 'a'));
  EXPECT_FALSE(validate_job(j, l).has_value());
  j = text_job(std::string(l.max_prompt_bytes + 1, 'a'));
  ASSERT_TRUE(validate_job(j, l).has_value());
  EXPECT_EQ(validate_job(j, l)->code, ErrorCode::kTooLong);
  EXPECT_EQ(validate_job(j, l)->field, "prompt");

  j = text_job();
  j.id = std::string(l.max_id_bytes, 'i');
  EXPECT_EQ(field_of(j), "");
  j.id += "i";
  EXPECT_EQ(field_of(j), "id");

  j = text_job();
  j.params.stop.assign(l.max_stop_strings, "x");
  EXPECT_EQ(field_of(j), "");
  j.params.stop.push_back("x");
  EXPECT_EQ(field_of(j), "stop");
  j.params.stop = {"ok", std::string(l.max_stop_bytes + 1, 's')};
  EXPECT_EQ(field_of(j), "stop[1]");

  j = text_job();
  j.params.max_tokens = l.max_tokens;
  EXPECT_EQ(field_of(j), "");
  j.params.max_tokens = l.max_tokens + 1;
  EXPECT_EQ(validate_job(j)->code, ErrorCode::kTooLong);
  j.params.max_tokens = 0;
  EXPECT_EQ(field_of(j), "max_tokens");

  j = text_job();
  j.priority = l.max_priority;
  EXPECT_EQ(field_of(j), "");
  j.priority = -l.max_priority - 1;
  EXPECT_EQ(field_of(j), "priority");

  j = text_job();
  j.params.sampling.top_p = 0.0f;
  EXPECT_EQ(field_of(j), "top_p");
  j.params.sampling.top_p = 1.0f;
  j.params.sampling.temperature = std::nanf("");
  EXPECT_EQ(field_of(j), "temperature");
  j.params.sampling.temperature = 1.0f;
  j.params.logprobs = l.max_logprobs + 1;
  EXPECT_EQ(field_of(j), "logprobs");
}

TEST(ContractValidate, PromptFormsAreChecked) {
  JobRequest j = text_job("");
  EXPECT_EQ(field_of(j), "prompt");
  j.prompt.value = std::vector<int32_t>{};
  EXPECT_EQ(field_of(j), "prompt_tokens");
  j.prompt.value = std::vector<loom::ChatTurn>{{"user", "hi"}, {"", "x"}};
  EXPECT_EQ(field_of(j), "messages[1].role");
  j.prompt.value = std::vector<loom::ChatTurn>{{"user", "bad \xFF"}};
  EXPECT_EQ(field_of(j), "messages[0].content");
}

TEST(ContractValidate, Utf8FollowsRfc3629) {
  size_t at = 99;
  EXPECT_TRUE(loom::is_valid_utf8("plain, caf\xC3\xA9, \xE4\xB8\xAD, \xF0\x9F\x98\x80"));
  EXPECT_FALSE(loom::is_valid_utf8("ok\xC0\xAF", &at));  // overlong '/'
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(loom::is_valid_utf8("\xED\xA0\x80"));      // a UTF-16 surrogate
  EXPECT_FALSE(loom::is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(loom::is_valid_utf8("\xE4\xB8"));          // truncated
  EXPECT_TRUE(loom::is_valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF itself
}

}  // namespace
