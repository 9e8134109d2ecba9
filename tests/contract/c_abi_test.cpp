// The contract's C face: reading a host's loom_job_request (older, smaller
// layouts get defaults for the fields they lack; bad fields are named by the
// one request check), and the host side's conversions held to the plugin
// side's (a request and an event survive the round trip through the C
// structs). The same code runs inside the .so; plugin_model_test.cpp checks
// an old layout end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "contract/c_abi.h"
#include "contract/validate.h"

using loom::c_abi::job_request_from_c;

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

// What the contract's door (the plugin's submit) answers: the shape error
// of the C structs, else validate_job's.
std::string error_of(const loom_job_request& r) {
  try {
    const loom::JobRequest job = job_request_from_c(r);
    if (auto e = loom::validate_job(job)) {
      EXPECT_EQ(loom::c_abi::to_c_error(e->code), LOOM_ERR_INVALID_ARGUMENT);
      return e->field + " | " + e->message;
    }
  } catch (const loom::c_abi::RequestShapeError& e) {
    return e.error.field + " | " + e.what();
  }
  return "";
}

loom::JobRequest read_job_request(const loom_job_request& r) { return job_request_from_c(r); }

}  // namespace

TEST(ContractCAbi, OlderLayoutGetsDefaultsNotGarbage) {
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

TEST(ContractCAbi, FullLayoutReadsEveryField) {
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

TEST(ContractCAbi, BadFieldsAreNamed) {
  loom_job_request r;
  loom_job_request_init(&r);
  r.prompt_text = {"hi", 2};
  EXPECT_NE(error_of(r).find("id: must be 1..128 bytes, got 0"), std::string::npos) << error_of(r);
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
  EXPECT_NE(error_of(r).find("max_tokens: must be >= 1, got 0"), std::string::npos) << error_of(r);
}

TEST(ContractCAbi, BadFieldsNameTheirContractField) {
  loom_job_request r;
  loom_job_request_init(&r);
  r.id = {"a", 1};
  r.prompt_text = {"hi", 2};
  r.top_p = 1.5f;
  EXPECT_EQ(error_of(r).substr(0, 8), "top_p | ");
  r.top_p = 1.0f;
  r.prompt_text = {"\xC3\x28", 2};  // a lead byte without its continuation
  EXPECT_EQ(error_of(r), "prompt | prompt: invalid UTF-8 at byte 0");
  r.prompt_text = {"hi", 2};
  const loom_str stops[] = {{"ok", 2}, {"", 0}};
  r.stop = stops;
  r.n_stop = 2;
  EXPECT_EQ(error_of(r).substr(0, 10), "stop[1] | ");
}

TEST(ContractCAbi, HostRequestSurvivesTheCStructs) {
  loom::JobRequest job;
  job.id = "round-trip";
  job.prompt.value = std::vector<loom::ChatTurn>{{"system", "be brief"}, {"user", "hi \xF0\x9F\x98\x80"}};
  job.params.max_tokens = 17;
  job.params.sampling.temperature = 0.5f;
  job.params.sampling.top_p = 0.9f;
  job.params.sampling.top_k = 40;
  job.params.sampling.min_p = 0.05f;
  job.params.sampling.repetition_penalty = 1.1f;
  job.params.sampling.presence_penalty = 0.2f;
  job.params.sampling.frequency_penalty = 0.3f;
  job.params.sampling.has_seed = true;
  job.params.sampling.seed = 1ull << 40;
  job.params.stop = {"END", "\n\n"};
  job.params.stop_token_ids = {7, 8};
  job.params.ignore_eos = true;
  job.params.logprobs = 3;
  job.priority = -4;
  job.deadline = std::chrono::milliseconds(1500);
  job.stream = false;
  const loom::c_abi::CJobRequest c(job);
  const loom::JobRequest back = job_request_from_c(c.get());
  EXPECT_EQ(back.id, job.id);
  const auto& turns = std::get<std::vector<loom::ChatTurn>>(back.prompt.value);
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_EQ(turns[1].content, "hi \xF0\x9F\x98\x80");
  EXPECT_EQ(back.params.max_tokens, 17);
  EXPECT_EQ(back.params.sampling.top_k, 40);
  EXPECT_EQ(back.params.sampling.seed, 1ull << 40);
  EXPECT_TRUE(back.params.sampling.has_seed);
  EXPECT_EQ(back.params.sampling.frequency_penalty, 0.3f);
  EXPECT_EQ(back.params.stop, job.params.stop);
  EXPECT_EQ(back.params.stop_token_ids, job.params.stop_token_ids);
  EXPECT_TRUE(back.params.ignore_eos);
  EXPECT_EQ(back.params.logprobs, 3);
  EXPECT_EQ(back.priority, -4);
  EXPECT_EQ(back.deadline->count(), 1500);
  EXPECT_FALSE(back.stream);
  EXPECT_FALSE(loom::validate_job(back).has_value());
}

TEST(ContractCAbi, EventSurvivesTheCStructs) {
  loom::JobEvent ev;
  ev.kind = loom::JobEvent::Kind::kDone;
  ev.text = "caf\xC3\xA9";
  ev.token_ids = {5, 6};
  ev.logprobs = {{5, -0.5f, {{5, -0.5f}, {9, -1.5f}}}, {6, -0.25f, {{6, -0.25f}}}};
  ev.finish_reason = loom::FinishReason::kDeadline;
  ev.usage = {11, 2, 4};
  ev.timing = {1.5, 20.25, 40.0};
  loom::JobEvent back;
  loom::c_abi::deliver_job_event(ev, "host-id", 2, [](void* out, const loom_job_event* c) {
    *static_cast<loom::JobEvent*>(out) = loom::c_abi::job_event_from_c(*c);
  }, &back);
  EXPECT_EQ(back.kind, ev.kind);
  EXPECT_EQ(back.id, "host-id");
  EXPECT_EQ(back.text, ev.text);
  EXPECT_EQ(back.token_ids, ev.token_ids);
  ASSERT_EQ(back.logprobs.size(), 2u);
  EXPECT_EQ(back.logprobs[0].top, ev.logprobs[0].top);
  EXPECT_EQ(back.logprobs[1].top, ev.logprobs[1].top) << "a missing alternative (id -1) is dropped";
  EXPECT_EQ(back.finish_reason, loom::FinishReason::kDeadline);
  EXPECT_EQ(back.usage.cached_tokens, 4);
  EXPECT_EQ(back.timing.ttft_ms, 20.25);
}

TEST(ContractCAbi, EveryEnumValueMapsBothWays) {
  for (auto r : {loom::FinishReason::kStop, loom::FinishReason::kLength, loom::FinishReason::kCancelled,
                 loom::FinishReason::kDeadline}) {
    EXPECT_EQ(loom::c_abi::finish_from_c(loom::c_abi::to_c_finish(r)), r);
  }
  EXPECT_EQ(loom::c_abi::to_c_finish(loom::FinishReason::kCancelled), LOOM_FINISH_CANCELLED);
  for (auto c : {loom::ErrorCode::kBadRequest, loom::ErrorCode::kTooLong, loom::ErrorCode::kOverloaded,
                 loom::ErrorCode::kUnavailable, loom::ErrorCode::kInternal}) {
    const char* name = loom::error_code_name(c);
    EXPECT_EQ(loom::error_code_from_name(name), c) << name;
    EXPECT_EQ(loom::c_abi::error_from_c(loom::c_abi::to_c_error(c), name), c) << name;
  }
  // Without a name (a 1.0 plugin) the C code alone decides.
  EXPECT_EQ(loom::c_abi::error_from_c(LOOM_ERR_RESOURCE_EXHAUSTED, ""), loom::ErrorCode::kOverloaded);
}
