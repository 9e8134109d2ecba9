// In-process jobs: submit hands a converted request to the same Engine the
// ZeroMQ endpoint uses, with a callback that turns each JobEvent into a
// loom_job_event whose pointers live only for the host callback's duration.
#include <algorithm>
#include <limits>

#include "backends/common/plugin/backend_state.h"
#include "backends/common/plugin/errors.h"
#include "backends/common/plugin/request_reader.h"

namespace loom::plugin {
namespace {

loom_error_code map_error(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kTooLong: return LOOM_ERR_INVALID_ARGUMENT;
    case ErrorCode::kOverloaded: return LOOM_ERR_RESOURCE_EXHAUSTED;
    case ErrorCode::kUnavailable: return LOOM_ERR_UNAVAILABLE;
    case ErrorCode::kInternal: return LOOM_ERR_INTERNAL;
  }
  return LOOM_ERR_INTERNAL;
}

int32_t map_finish(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return LOOM_FINISH_STOP;
    case FinishReason::kLength: return LOOM_FINISH_LENGTH;
    case FinishReason::kCancelled: return LOOM_FINISH_CANCELLED;
    case FinishReason::kDeadline: return LOOM_FINISH_DEADLINE;
  }
  return LOOM_FINISH_STOP;
}

loom_str view(const std::string& s) { return {s.data(), s.size()}; }

// Logprobs flattened: [n_tokens] and [n_tokens][n_top] (missing: id -1).
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

void deliver(const InprocJob& job, const JobEvent& ev) {
  loom_job_event out{};
  out.struct_size = sizeof(out);
  out.kind = ev.kind == JobEvent::Kind::kDelta  ? LOOM_EVENT_DELTA
             : ev.kind == JobEvent::Kind::kDone ? LOOM_EVENT_DONE
                                                : LOOM_EVENT_ERROR;
  out.id = view(job.id);
  out.text = view(ev.text);
  out.token_ids = ev.token_ids.data();
  out.n_token_ids = ev.token_ids.size();
  FlatLogprobs flat;
  if (!ev.logprobs.empty()) {
    out.n_top = static_cast<size_t>(std::max(job.n_top, 0));
    flat = flatten(ev.logprobs, out.n_top);
    out.logprobs = flat.chosen.data();
    out.top_ids = flat.top_ids.data();
    out.top_logprobs = flat.top_logprobs.data();
  }
  const std::string reason =
      ev.kind == JobEvent::Kind::kError ? error_code_name(ev.error_code)
      : ev.kind == JobEvent::Kind::kDone ? finish_reason_name(ev.finish_reason) : "";
  out.finish_reason = map_finish(ev.finish_reason);
  out.prompt_tokens = ev.usage.prompt_tokens;
  out.completion_tokens = ev.usage.completion_tokens;
  out.cached_tokens = ev.usage.cached_tokens;
  out.queue_ms = ev.timing.queue_ms;
  out.ttft_ms = ev.timing.ttft_ms;
  out.total_ms = ev.timing.total_ms;
  out.error_code = ev.kind == JobEvent::Kind::kError ? map_error(ev.error_code) : LOOM_OK;
  out.error_name = view(reason);
  out.message = view(ev.message);
  job.callback(job.user_data, &out);
}

}  // namespace

void job_submit(loom_backend& b, const loom_job_request& request, loom_job_callback cb, void* user_data) {
  if (!cb) throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "callback must not be NULL");
  JobRequest job = read_job_request(request);
  auto inproc = std::make_shared<InprocJob>(InprocJob{job.id, cb, user_data, job.params.logprobs});

  std::shared_lock state(b.state_mu);
  if (b.state != BackendStateKind::kStarted)
    throw PluginError(LOOM_ERR_UNAVAILABLE, b.state == BackendStateKind::kCreated
                                                ? "submit: call start() first"
                                                : "submit: the backend is drained");
  {
    std::lock_guard lock(b.jobs_mu);
    if (!b.jobs.emplace(job.id, inproc).second)
      throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "id '" + job.id + "' is already in flight");
  }
  job.id = std::string(kInprocPrefix) + job.id;
  loom_backend* owner = &b;
  b.parts.engine->submit(std::move(job), [owner, inproc](const JobEvent& ev) {
    if (ev.kind != JobEvent::Kind::kDelta) {
      // Forget the id before the terminal callback, so that once the host has
      // seen the terminal event the id is free again (and cancel says not_found).
      std::lock_guard lock(owner->jobs_mu);
      owner->jobs.erase(inproc->id);
    }
    deliver(*inproc, ev);
  });
}

void job_cancel(loom_backend& b, std::string_view id) {
  {
    std::lock_guard lock(b.jobs_mu);
    if (!b.jobs.count(std::string(id)))
      throw PluginError(LOOM_ERR_NOT_FOUND, "cancel: no in-process job '" + std::string(id) + "' in flight");
  }
  b.parts.engine->cancel(std::string(kInprocPrefix) + std::string(id));
}

}  // namespace loom::plugin
