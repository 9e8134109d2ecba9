#include "contract/c_abi.h"

#include <algorithm>
#include <cstddef>
#include <limits>

namespace loom::c_abi {
namespace {

// v1.0 hosts must send at least the id and the prompt.
constexpr size_t kRequestMinSize = offsetof(loom_job_request, n_messages) + sizeof(size_t);
constexpr size_t kMessageMinSize = offsetof(loom_chat_message, content) + sizeof(loom_str);

[[noreturn]] void bad(std::string field, std::string message) {
  throw RequestShapeError(JobError{ErrorCode::kBadRequest, std::move(field), std::move(message)});
}

std::string read_str(const loom_str& s, const std::string& field) {
  if (s.size > 0 && !s.data) bad(field, field + ": data is NULL but size is " + std::to_string(s.size));
  return s.size ? std::string(s.data, s.size) : std::string();
}

template <typename T>
void require_array(const T* ptr, size_t n, const char* field) {
  if (n > 0 && !ptr) bad(field, std::string(field) + " is NULL but its count is " + std::to_string(n));
}

std::vector<ChatTurn> read_messages(const loom_job_request& r) {
  require_array(r.messages, r.n_messages, "messages");
  std::vector<ChatTurn> turns;
  for (size_t i = 0; i < r.n_messages; ++i) {
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!r.messages[i]) bad(at, at + " is NULL");
    if (r.messages[i]->struct_size < kMessageMinSize)
      bad(at, at + ".struct_size " + std::to_string(r.messages[i]->struct_size) + " is below the minimum " +
                  std::to_string(kMessageMinSize));
    turns.push_back({read_str(r.messages[i]->role, at + ".role"), read_str(r.messages[i]->content, at + ".content")});
  }
  return turns;
}

PromptInput read_prompt(const loom_job_request& r) {
  PromptInput p;
  switch (r.prompt_kind) {
    case LOOM_PROMPT_TEXT: p.value = read_str(r.prompt_text, "prompt"); break;
    case LOOM_PROMPT_TOKENS:
      require_array(r.prompt_tokens, r.n_prompt_tokens, "prompt_tokens");
      p.value = std::vector<int32_t>(r.prompt_tokens, r.prompt_tokens + r.n_prompt_tokens);
      break;
    case LOOM_PROMPT_MESSAGES: p.value = read_messages(r); break;
    default:
      bad("prompt_kind", "prompt_kind must be LOOM_PROMPT_TEXT (0), _TOKENS (1) or _MESSAGES (2), got " +
                             std::to_string(r.prompt_kind));
  }
  return p;
}

// The host's struct with every field past its struct_size at its default.
loom_job_request normalize(const loom_job_request& host) {
  if (host.struct_size < kRequestMinSize)
    bad("struct_size", "loom_job_request.struct_size " + std::to_string(host.struct_size) +
                           " is below the v1.0 minimum " + std::to_string(kRequestMinSize));
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
  LOOM_TAKE(prompt_logprobs);  // 1.2
#undef LOOM_TAKE
  r.struct_size = sizeof(r);
  return r;
}

loom_str view(const std::string& s) { return {s.data(), s.size()}; }

// Logprobs flattened: [n_tokens] and [n_tokens][n_top] (missing: id -1, -inf).
struct FlatLogprobs {
  std::vector<float> chosen;
  std::vector<int32_t> top_ids;
  std::vector<float> top_logprobs;
};

FlatLogprobs flatten(const std::vector<TokenLogprobs>& lps, size_t n_top) {
  FlatLogprobs f;
  f.chosen.reserve(lps.size());
  f.top_ids.assign(lps.size() * n_top, -1);
  f.top_logprobs.assign(lps.size() * n_top, -std::numeric_limits<float>::infinity());
  for (size_t i = 0; i < lps.size(); ++i) {
    f.chosen.push_back(lps[i].logprob);
    for (size_t k = 0; k < std::min(n_top, lps[i].top.size()); ++k) {
      f.top_ids[i * n_top + k] = lps[i].top[k].first;
      f.top_logprobs[i * n_top + k] = lps[i].top[k].second;
    }
  }
  return f;
}

int32_t to_c_kind(JobEvent::Kind kind) {
  switch (kind) {
    case JobEvent::Kind::kDelta: return LOOM_EVENT_DELTA;
    case JobEvent::Kind::kDone: return LOOM_EVENT_DONE;
    case JobEvent::Kind::kError: return LOOM_EVENT_ERROR;
  }
  return LOOM_EVENT_ERROR;
}

}  // namespace

JobRequest job_request_from_c(const loom_job_request& host) {
  const loom_job_request r = normalize(host);
  JobRequest job;
  job.id = read_str(r.id, "id");
  job.prompt = read_prompt(r);
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
  require_array(r.stop, r.n_stop, "stop");
  for (size_t i = 0; i < r.n_stop; ++i)
    job.params.stop.push_back(read_str(r.stop[i], "stop[" + std::to_string(i) + "]"));
  require_array(r.stop_token_ids, r.n_stop_token_ids, "stop_token_ids");
  job.params.stop_token_ids.assign(r.stop_token_ids, r.stop_token_ids + r.n_stop_token_ids);
  job.params.ignore_eos = r.ignore_eos != 0;
  job.params.logprobs = r.logprobs;
  job.params.prompt_logprobs = r.prompt_logprobs;
  job.priority = r.priority;
  if (r.deadline_ms > 0) job.deadline = std::chrono::milliseconds(r.deadline_ms);
  job.stream = r.stream != 0;
  return job;
}

void deliver_job_event(const JobEvent& ev, std::string_view id, size_t n_top, loom_job_callback callback,
                       void* user_data) {
  loom_job_event out{};
  out.struct_size = sizeof(out);
  out.kind = to_c_kind(ev.kind);
  out.id = {id.data(), id.size()};
  out.text = view(ev.text);
  out.token_ids = ev.token_ids.data();
  out.n_token_ids = ev.token_ids.size();
  FlatLogprobs flat;
  if (!ev.logprobs.empty()) {
    out.n_top = n_top;
    flat = flatten(ev.logprobs, n_top);
    out.logprobs = flat.chosen.data();
    out.top_ids = flat.top_ids.data();
    out.top_logprobs = flat.top_logprobs.data();
  }
  const std::string name = ev.kind == JobEvent::Kind::kError  ? error_code_name(ev.error_code)
                           : ev.kind == JobEvent::Kind::kDone ? finish_reason_name(ev.finish_reason)
                                                              : "";
  out.finish_reason = to_c_finish(ev.finish_reason);
  out.prompt_tokens = ev.usage.prompt_tokens;
  out.completion_tokens = ev.usage.completion_tokens;
  out.cached_tokens = ev.usage.cached_tokens;
  out.queue_ms = ev.timing.queue_ms;
  out.ttft_ms = ev.timing.ttft_ms;
  out.total_ms = ev.timing.total_ms;
  out.error_code = ev.kind == JobEvent::Kind::kError ? to_c_error(ev.error_code) : LOOM_OK;
  out.error_name = view(name);
  out.message = view(ev.message);
  if (!ev.prompt_logprobs.empty()) {
    out.prompt_logprobs = ev.prompt_logprobs.data();
    out.n_prompt_logprobs = ev.prompt_logprobs.size();
  }
  callback(user_data, &out);
}

loom_error_code to_c_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kTooLong: return LOOM_ERR_INVALID_ARGUMENT;
    case ErrorCode::kOverloaded: return LOOM_ERR_RESOURCE_EXHAUSTED;
    case ErrorCode::kUnavailable: return LOOM_ERR_UNAVAILABLE;
    case ErrorCode::kInternal: return LOOM_ERR_INTERNAL;
  }
  return LOOM_ERR_INTERNAL;
}

int32_t to_c_finish(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return LOOM_FINISH_STOP;
    case FinishReason::kLength: return LOOM_FINISH_LENGTH;
    case FinishReason::kCancelled: return LOOM_FINISH_CANCELLED;
    case FinishReason::kDeadline: return LOOM_FINISH_DEADLINE;
  }
  return LOOM_FINISH_STOP;
}

CJobRequest::CJobRequest(const JobRequest& job) : job_(job) {
  loom_job_request_init(&request_);
  request_.id = view(job_.id);
  if (const auto* text = std::get_if<std::string>(&job_.prompt.value)) {
    request_.prompt_kind = LOOM_PROMPT_TEXT;
    request_.prompt_text = view(*text);
  } else if (const auto* ids = std::get_if<std::vector<int32_t>>(&job_.prompt.value)) {
    request_.prompt_kind = LOOM_PROMPT_TOKENS;
    request_.prompt_tokens = ids->data();
    request_.n_prompt_tokens = ids->size();
  } else {
    const auto& turns = std::get<std::vector<ChatTurn>>(job_.prompt.value);
    for (const auto& t : turns) messages_.push_back({sizeof(loom_chat_message), view(t.role), view(t.content)});
    for (const auto& m : messages_) message_ptrs_.push_back(&m);
    request_.prompt_kind = LOOM_PROMPT_MESSAGES;
    request_.messages = message_ptrs_.data();
    request_.n_messages = message_ptrs_.size();
  }
  const JobParams& p = job_.params;
  request_.max_tokens = p.max_tokens;
  request_.temperature = p.sampling.temperature;
  request_.top_p = p.sampling.top_p;
  request_.top_k = p.sampling.top_k;
  request_.min_p = p.sampling.min_p;
  request_.repetition_penalty = p.sampling.repetition_penalty;
  request_.presence_penalty = p.sampling.presence_penalty;
  request_.frequency_penalty = p.sampling.frequency_penalty;
  request_.has_seed = p.sampling.has_seed;
  request_.seed = p.sampling.seed;
  for (const auto& s : p.stop) stops_.push_back(view(s));
  request_.stop = stops_.data();
  request_.n_stop = stops_.size();
  request_.stop_token_ids = p.stop_token_ids.data();
  request_.n_stop_token_ids = p.stop_token_ids.size();
  request_.ignore_eos = p.ignore_eos;
  request_.logprobs = p.logprobs;
  request_.prompt_logprobs = p.prompt_logprobs;
  request_.priority = job_.priority;
  request_.deadline_ms = job_.deadline ? job_.deadline->count() : 0;
  request_.stream = job_.stream;
}

JobEvent job_event_from_c(const loom_job_event& ev) {
  JobEvent out;
  out.kind = ev.kind == LOOM_EVENT_DELTA  ? JobEvent::Kind::kDelta
             : ev.kind == LOOM_EVENT_DONE ? JobEvent::Kind::kDone
                                          : JobEvent::Kind::kError;
  out.id.assign(ev.id.data, ev.id.size);
  out.text.assign(ev.text.data ? ev.text.data : "", ev.text.size);
  if (ev.token_ids) out.token_ids.assign(ev.token_ids, ev.token_ids + ev.n_token_ids);
  if (ev.logprobs) {
    for (size_t i = 0; i < ev.n_token_ids; ++i) {
      TokenLogprobs lp;
      lp.token = out.token_ids[i];
      lp.logprob = ev.logprobs[i];
      for (size_t k = 0; k < ev.n_top; ++k) {
        const int32_t id = ev.top_ids[i * ev.n_top + k];
        if (id >= 0) lp.top.emplace_back(id, ev.top_logprobs[i * ev.n_top + k]);
      }
      out.logprobs.push_back(std::move(lp));
    }
  }
  // 1.2: an older plugin's event ends before these fields.
  constexpr size_t kPromptLogprobsEnd = offsetof(loom_job_event, n_prompt_logprobs) + sizeof(size_t);
  if (ev.struct_size >= kPromptLogprobsEnd && ev.prompt_logprobs)
    out.prompt_logprobs.assign(ev.prompt_logprobs, ev.prompt_logprobs + ev.n_prompt_logprobs);
  out.finish_reason = finish_from_c(ev.finish_reason);
  out.usage = {ev.prompt_tokens, ev.completion_tokens, ev.cached_tokens};
  out.timing = {ev.queue_ms, ev.ttft_ms, ev.total_ms};
  if (out.kind == JobEvent::Kind::kError) {
    out.error_code = error_from_c(ev.error_code, std::string_view(ev.error_name.data ? ev.error_name.data : "",
                                                                   ev.error_name.size));
    out.message.assign(ev.message.data ? ev.message.data : "", ev.message.size);
  }
  return out;
}

FinishReason finish_from_c(int32_t reason) {
  switch (reason) {
    case LOOM_FINISH_LENGTH: return FinishReason::kLength;
    case LOOM_FINISH_CANCELLED: return FinishReason::kCancelled;
    case LOOM_FINISH_DEADLINE: return FinishReason::kDeadline;
    default: return FinishReason::kStop;
  }
}

ErrorCode error_from_c(loom_error_code code, std::string_view name) {
  if (auto by_name = error_code_from_name(name)) return *by_name;
  switch (code) {
    case LOOM_ERR_INVALID_ARGUMENT:
    case LOOM_ERR_NOT_FOUND: return ErrorCode::kBadRequest;
    case LOOM_ERR_RESOURCE_EXHAUSTED: return ErrorCode::kOverloaded;
    case LOOM_ERR_UNAVAILABLE:
    case LOOM_ERR_CANCELLED: return ErrorCode::kUnavailable;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace loom::c_abi
