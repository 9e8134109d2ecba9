// In-process jobs: submit is the contract's door. It reads the host's C
// request (contract/c_abi.h), runs the one request check
// (contract/validate.h), and hands the job to the backend's Engine with a
// callback that turns each JobEvent into a loom_job_event for the host.
#include <algorithm>

#include "backends/common/plugin/backend_state.h"
#include "backends/common/plugin/errors.h"
#include "contract/c_abi.h"
#include "contract/validate.h"

namespace loom::plugin {
namespace {

[[noreturn]] void refuse(const JobError& e) {
  throw PluginError(c_abi::to_c_error(e.code), e.message, error_code_name(e.code), e.field);
}

JobRequest read_request(const loom_job_request& request) {
  JobRequest job;
  try {
    job = c_abi::job_request_from_c(request);
  } catch (const c_abi::RequestShapeError& e) {
    refuse(e.error);
  }
  if (auto problem = validate_job(job)) refuse(*problem);
  return job;
}

}  // namespace

void job_submit(loom_backend& b, const loom_job_request& request, loom_job_callback cb, void* user_data) {
  if (!cb) throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "callback must not be NULL");
  JobRequest job = read_request(request);
  auto inproc = std::make_shared<InprocJob>(
      InprocJob{job.id, cb, user_data, static_cast<size_t>(std::max(job.params.logprobs, 0))});

  std::shared_lock state(b.state_mu);
  if (b.state != BackendStateKind::kStarted)
    throw PluginError(LOOM_ERR_UNAVAILABLE,
                      b.state == BackendStateKind::kCreated ? "submit: call start() first"
                                                            : "submit: the backend is drained",
                      "unavailable");
  {
    std::lock_guard lock(b.jobs_mu);
    if (!b.jobs.emplace(job.id, inproc).second)
      throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "id '" + job.id + "' is already in flight", "bad_request", "id");
  }
  loom_backend* owner = &b;
  b.parts.engine->submit(std::move(job), [owner, inproc](const JobEvent& ev) {
    if (ev.kind != JobEvent::Kind::kDelta) {
      // Forget the id before the terminal callback, so that once the host has
      // seen the terminal event the id is free again (and cancel says not_found).
      std::lock_guard lock(owner->jobs_mu);
      owner->jobs.erase(inproc->id);
    }
    c_abi::deliver_job_event(ev, inproc->id, inproc->n_top, inproc->callback, inproc->user_data);
  });
}

void job_cancel(loom_backend& b, std::string_view id) {
  {
    std::lock_guard lock(b.jobs_mu);
    if (!b.jobs.count(std::string(id)))
      throw PluginError(LOOM_ERR_NOT_FOUND, "cancel: no in-process job '" + std::string(id) + "' in flight");
  }
  b.parts.engine->cancel(std::string(id));
}

}  // namespace loom::plugin
