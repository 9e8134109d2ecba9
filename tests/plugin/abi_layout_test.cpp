// The header compiled as C (c_header_check.c) and as C++ agree on layout,
// and the request defaults are the documented ones.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "loom/plugin.h"

extern "C" size_t loom_test_c_layout(size_t* out, size_t cap);
extern "C" int loom_test_c_request_defaults(loom_job_request* out);

#define LAYOUT(type, field) offsetof(type, field)

TEST(PluginAbiLayout, CAndCxxAgree) {
  const std::vector<size_t> cxx = {
      sizeof(loom_plugin_api),   LAYOUT(loom_plugin_api, error_code), LAYOUT(loom_plugin_api, stats),
      sizeof(loom_job_request),  LAYOUT(loom_job_request, id),        LAYOUT(loom_job_request, max_tokens),
      LAYOUT(loom_job_request, seed), LAYOUT(loom_job_request, deadline_ms), LAYOUT(loom_job_request, stream),
      sizeof(loom_job_event),    LAYOUT(loom_job_event, text),        LAYOUT(loom_job_event, total_ms),
      LAYOUT(loom_job_event, message), sizeof(loom_probe_info), LAYOUT(loom_probe_info, memory_available_bytes),
      LAYOUT(loom_job_request, prompt_logprobs), LAYOUT(loom_job_event, prompt_logprobs),
      LAYOUT(loom_job_event, n_prompt_logprobs),
      sizeof(loom_chat_message), sizeof(loom_tokens),                 sizeof(loom_text),
      sizeof(loom_str),
  };
  std::vector<size_t> c(64);
  c.resize(loom_test_c_layout(c.data(), c.size()));
  EXPECT_EQ(c, cxx);
}

TEST(PluginAbiLayout, StructSizeComesFirst) {
  EXPECT_EQ(offsetof(loom_plugin_api, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_job_request, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_job_event, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_probe_info, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_chat_message, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_tokens, struct_size), 0u);
  EXPECT_EQ(offsetof(loom_text, struct_size), 0u);
}

TEST(PluginAbiLayout, RequestDefaultsFromC) {
  loom_job_request r;
  std::memset(&r, 0xAB, sizeof(r));
  EXPECT_EQ(loom_test_c_request_defaults(&r), 6);
  EXPECT_EQ(r.struct_size, sizeof(loom_job_request));
  EXPECT_EQ(r.max_tokens, 256);
  EXPECT_EQ(r.temperature, 1.0f);
  EXPECT_EQ(r.top_p, 1.0f);
  EXPECT_EQ(r.top_k, 0);
  EXPECT_EQ(r.repetition_penalty, 1.0f);
  EXPECT_EQ(r.stream, 1);
  EXPECT_EQ(r.deadline_ms, 0);
  EXPECT_EQ(r.prompt_text.data, nullptr);
  EXPECT_EQ(r.n_stop, 0u);
  EXPECT_EQ(r.prompt_logprobs, 0);
}
