/* Compiled as C99 (-std=c99 -pedantic -Werror): the header must be plain C.
 * It reports the layout the C compiler sees, so the C++ test can check that
 * C and C++ agree on every struct that crosses the boundary. */
#include <stddef.h>

#include "loom/plugin.h"

#define LAYOUT(type, field) offsetof(type, field)

size_t loom_test_c_layout(size_t* out, size_t cap) {
  const size_t values[] = {
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
  size_t n = sizeof(values) / sizeof(values[0]);
  size_t i;
  for (i = 0; i < n && i < cap; ++i) out[i] = values[i];
  return n;
}

/* The inline init helper, as a C caller sees it. */
int loom_test_c_request_defaults(loom_job_request* out) {
  loom_chat_message m;
  loom_job_request_init(out);
  loom_chat_message_init(&m, "user", "hi");
  return (int)(m.role.size + m.content.size); /* 6 */
}
