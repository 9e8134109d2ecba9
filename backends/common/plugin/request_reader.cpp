#include "backends/common/plugin/request_reader.h"

#include <cstddef>
#include <string>

#include "backends/common/plugin/errors.h"

namespace loom::plugin {
namespace {

// v1.0 hosts must send at least the id and the prompt.
constexpr size_t kRequestMinSize = offsetof(loom_job_request, n_messages) + sizeof(size_t);
constexpr size_t kMessageMinSize = offsetof(loom_chat_message, content) + sizeof(loom_str);

[[noreturn]] void bad(const std::string& message) { throw PluginError(LOOM_ERR_INVALID_ARGUMENT, message); }

std::string read_str(const loom_str& s, const char* field) {
  if (s.size > 0 && !s.data) bad(std::string(field) + ": data is NULL but size is " + std::to_string(s.size));
  return s.size ? std::string(s.data, s.size) : std::string();
}

template <typename T>
void require_array(const T* ptr, size_t n, const char* field) {
  if (n > 0 && !ptr) bad(std::string(field) + " is NULL but its count is " + std::to_string(n));
}

PromptInput read_prompt(const loom_job_request& r) {
  PromptInput p;
  switch (r.prompt_kind) {
    case LOOM_PROMPT_TEXT:
      p.value = read_str(r.prompt_text, "prompt_text");
      break;
    case LOOM_PROMPT_TOKENS:
      require_array(r.prompt_tokens, r.n_prompt_tokens, "prompt_tokens");
      p.value = std::vector<int32_t>(r.prompt_tokens, r.prompt_tokens + r.n_prompt_tokens);
      break;
    case LOOM_PROMPT_MESSAGES: {
      require_array(r.messages, r.n_messages, "messages");
      std::vector<ChatTurn> turns;
      for (size_t i = 0; i < r.n_messages; ++i) {
        const std::string at = "messages[" + std::to_string(i) + "]";
        if (!r.messages[i]) bad(at + " is NULL");
        if (r.messages[i]->struct_size < kMessageMinSize)
          bad(at + ".struct_size " + std::to_string(r.messages[i]->struct_size) + " is below the minimum " +
              std::to_string(kMessageMinSize));
        turns.push_back({read_str(r.messages[i]->role, (at + ".role").c_str()),
                         read_str(r.messages[i]->content, (at + ".content").c_str())});
      }
      p.value = std::move(turns);
      break;
    }
    default:
      bad("prompt_kind must be LOOM_PROMPT_TEXT (0), _TOKENS (1) or _MESSAGES (2), got " +
          std::to_string(r.prompt_kind));
  }
  return p;
}

}  // namespace

loom_job_request normalize_job_request(const loom_job_request& host) {
  if (host.struct_size < kRequestMinSize)
    bad("loom_job_request.struct_size " + std::to_string(host.struct_size) + " is below the v1.0 minimum " +
        std::to_string(kRequestMinSize));
  loom_job_request r;
  loom_job_request_init(&r);
  const size_t size = host.struct_size;
#define LOOM_TAKE(field) \
  if (offsetof(loom_job_request, field) + sizeof(r.field) <= size) r.field = host.field
  LOOM_TAKE(id);
  LOOM_TAKE(prompt_kind);
  LOOM_TAKE(prompt_text);
  LOOM_TAKE(prompt_tokens);
  LOOM_TAKE(n_prompt_tokens);
  LOOM_TAKE(messages);
  LOOM_TAKE(n_messages);
  LOOM_TAKE(max_tokens);
  LOOM_TAKE(temperature);
  LOOM_TAKE(top_p);
  LOOM_TAKE(top_k);
  LOOM_TAKE(min_p);
  LOOM_TAKE(repetition_penalty);
  LOOM_TAKE(presence_penalty);
  LOOM_TAKE(frequency_penalty);
  LOOM_TAKE(has_seed);
  LOOM_TAKE(seed);
  LOOM_TAKE(stop);
  LOOM_TAKE(n_stop);
  LOOM_TAKE(stop_token_ids);
  LOOM_TAKE(n_stop_token_ids);
  LOOM_TAKE(ignore_eos);
  LOOM_TAKE(logprobs);
  LOOM_TAKE(priority);
  LOOM_TAKE(deadline_ms);
  LOOM_TAKE(stream);
#undef LOOM_TAKE
  r.struct_size = sizeof(r);
  return r;
}

JobRequest read_job_request(const loom_job_request& host) {
  const loom_job_request r = normalize_job_request(host);
  JobRequest job;
  job.id = read_str(r.id, "id");
  if (job.id.empty() || job.id.size() > kMaxJobIdBytes)
    bad("id must be 1.." + std::to_string(kMaxJobIdBytes) + " bytes, got " + std::to_string(job.id.size()));
  job.prompt = read_prompt(r);
  if (r.max_tokens < 1) bad("max_tokens must be >= 1, got " + std::to_string(r.max_tokens));
  job.params.max_tokens = r.max_tokens;
  sampling::SamplingParams& s = job.params.sampling;
  s.temperature = r.temperature;
  s.top_p = r.top_p;
  s.top_k = r.top_k;
  s.min_p = r.min_p;
  s.repetition_penalty = r.repetition_penalty;
  s.presence_penalty = r.presence_penalty;
  s.frequency_penalty = r.frequency_penalty;
  s.has_seed = r.has_seed != 0;
  s.seed = r.seed;
  s.top_logprobs = r.logprobs;
  if (auto problem = sampling::validate(s)) bad(*problem);
  require_array(r.stop, r.n_stop, "stop");
  for (size_t i = 0; i < r.n_stop; ++i)
    job.params.stop.push_back(read_str(r.stop[i], ("stop[" + std::to_string(i) + "]").c_str()));
  require_array(r.stop_token_ids, r.n_stop_token_ids, "stop_token_ids");
  job.params.stop_token_ids.assign(r.stop_token_ids, r.stop_token_ids + r.n_stop_token_ids);
  job.params.ignore_eos = r.ignore_eos != 0;
  job.params.logprobs = r.logprobs;
  job.priority = r.priority;
  if (r.deadline_ms > 0) job.deadline = std::chrono::milliseconds(r.deadline_ms);
  job.stream = r.stream != 0;
  return job;
}

}  // namespace loom::plugin
