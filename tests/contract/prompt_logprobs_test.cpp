// Prompt logprobs (ABI 1.2) in the contract: the request field is checked
// once (validate_job: 0 or 1), crosses the C structs both ways, is absent
// (0) in a 1.1 host's smaller struct even when the bytes past it are
// garbage; the event's values cross too and are ignored when an older
// plugin's event ends before them.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

#include "contract/c_abi.h"
#include "contract/validate.h"

namespace {

// sizeof(loom_job_request) in ABI 1.1: the struct ended with `stream`.
constexpr size_t kRequestSize11 =
    (offsetof(loom_job_request, stream) + sizeof(int32_t) + alignof(loom_job_request) - 1) /
    alignof(loom_job_request) * alignof(loom_job_request);
static_assert(offsetof(loom_job_request, prompt_logprobs) >= kRequestSize11,
              "a 1.2 field must start at or after the 1.1 sizeof (not in its tail padding)");
static_assert(offsetof(loom_job_request, reserved_1_2) < kRequestSize11,
              "reserved_1_2 is the 1.1 tail padding");
// sizeof(loom_job_event) in ABI 1.1: the struct ended with `message`.
constexpr size_t kEventSize11 = offsetof(loom_job_event, message) + sizeof(loom_str);
static_assert(offsetof(loom_job_event, prompt_logprobs) >= kEventSize11);

loom::JobRequest token_job(int32_t prompt_logprobs) {
  loom::JobRequest j;
  j.id = "j";
  j.prompt.value = std::vector<int32_t>{1, 2, 3};
  j.params.prompt_logprobs = prompt_logprobs;
  return j;
}

}  // namespace

TEST(ContractPromptLogprobs, ValidateAcceptsZeroAndOneOnly) {
  EXPECT_FALSE(loom::validate_job(token_job(0)).has_value());
  EXPECT_FALSE(loom::validate_job(token_job(1)).has_value());
  for (int32_t bad : {-1, 2, 20}) {
    const auto e = loom::validate_job(token_job(bad));
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, loom::ErrorCode::kBadRequest);
    EXPECT_EQ(e->field, "prompt_logprobs");
    EXPECT_NE(e->message.find("must be 0 or 1"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find(std::to_string(bad)), std::string::npos) << e->message;
  }
}

TEST(ContractPromptLogprobs, RequestFieldCrossesTheCStructs) {
  loom_job_request r;
  loom_job_request_init(&r);
  EXPECT_EQ(r.prompt_logprobs, 0) << "default off";
  const loom::c_abi::CJobRequest c(token_job(1));
  EXPECT_EQ(c.get().prompt_logprobs, 1);
  const loom::JobRequest back = loom::c_abi::job_request_from_c(c.get());
  EXPECT_EQ(back.params.prompt_logprobs, 1);
}

TEST(ContractPromptLogprobs, AnOlderHostsStructReadsAsOff) {
  const loom::c_abi::CJobRequest c(token_job(0));
  union {
    loom_job_request full;
    unsigned char bytes[sizeof(loom_job_request)];
  } buf;
  std::memcpy(buf.bytes, &c.get(), sizeof(loom_job_request));
  buf.full.struct_size = kRequestSize11;
  buf.full.prompt_logprobs = 1;  // garbage past a 1.1 host's struct
  EXPECT_EQ(loom::c_abi::job_request_from_c(buf.full).params.prompt_logprobs, 0);
  buf.full.struct_size = sizeof(loom_job_request);
  EXPECT_EQ(loom::c_abi::job_request_from_c(buf.full).params.prompt_logprobs, 1);
}

TEST(ContractPromptLogprobs, EventValuesCrossAndAnOlderEventHasNone) {
  loom::JobEvent ev;
  ev.kind = loom::JobEvent::Kind::kDone;
  ev.token_ids = {7};
  ev.prompt_logprobs = {-1.5f, -0.25f, -7.0f};
  struct Seen {
    loom::JobEvent now, as_11;
  } seen;
  loom::c_abi::deliver_job_event(
      ev, "id", 0,
      [](void* out, const loom_job_event* c) {
        auto* s = static_cast<Seen*>(out);
        EXPECT_EQ(c->n_prompt_logprobs, 3u);
        s->now = loom::c_abi::job_event_from_c(*c);
        loom_job_event old = *c;
        old.struct_size = kEventSize11;  // what a 1.1 plugin writes
        s->as_11 = loom::c_abi::job_event_from_c(old);
      },
      &seen);
  EXPECT_EQ(seen.now.prompt_logprobs, ev.prompt_logprobs);
  EXPECT_TRUE(seen.as_11.prompt_logprobs.empty());

  loom::JobEvent none;
  none.kind = loom::JobEvent::Kind::kDone;
  loom::c_abi::deliver_job_event(
      none, "id", 0,
      [](void*, const loom_job_event* c) {
        EXPECT_EQ(c->prompt_logprobs, nullptr);
        EXPECT_EQ(c->n_prompt_logprobs, 0u);
      },
      nullptr);
}
