// The contract's stable C face: conversions between the C++ job types
// (contract/job.h) and the C ABI's structs (plugin_api/include/loom/plugin.h).
// The plugin side reads a host's loom_job_request and writes loom_job_events;
// the host side (PluginEngine) does the reverse. Both directions live here so
// that one test can hold them to each other and to the header's constants.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "contract/job.h"
#include "plugin_api/include/loom/plugin.h"

namespace loom::c_abi {

// A request the C structs cannot express as a JobRequest (NULL arrays, a
// struct_size below v1.0, an unknown prompt_kind). `error` says which field.
class RequestShapeError : public std::invalid_argument {
 public:
  explicit RequestShapeError(JobError e) : std::invalid_argument(e.message), error(std::move(e)) {}
  JobError error;
};

// ---- plugin side ---------------------------------------------------------

// Reads the host's request, honouring struct_size (fields past it take
// loom_job_request_init's defaults). Throws RequestShapeError. Range checks
// are validate_job's (contract/validate.h), not this function's.
JobRequest job_request_from_c(const loom_job_request& host);

// Calls `callback` with `ev` as a loom_job_event whose pointers live for the
// call only; `id` is the host's id, `n_top` the alternatives it asked for.
void deliver_job_event(const JobEvent& ev, std::string_view id, size_t n_top, loom_job_callback callback,
                       void* user_data);

loom_error_code to_c_error(ErrorCode code);
int32_t to_c_finish(FinishReason reason);

// ---- host side -------------------------------------------------------------

// A loom_job_request built from a JobRequest; owns every array it points to.
class CJobRequest {
 public:
  explicit CJobRequest(const JobRequest& job);
  CJobRequest(const CJobRequest&) = delete;
  CJobRequest& operator=(const CJobRequest&) = delete;
  const loom_job_request& get() const { return request_; }

 private:
  JobRequest job_;  // the strings the C struct points into
  std::vector<loom_chat_message> messages_;
  std::vector<const loom_chat_message*> message_ptrs_;
  std::vector<loom_str> stops_;
  loom_job_request request_;
};

// The event as contract types (a copy: valid after the callback returns).
JobEvent job_event_from_c(const loom_job_event& ev);

FinishReason finish_from_c(int32_t reason);  // unknown values read as kStop
// The contract code of an error from the plugin: by its name when the plugin
// gives one (ABI 1.1 error_name), else by its C code.
ErrorCode error_from_c(loom_error_code code, std::string_view name);

}  // namespace loom::c_abi
