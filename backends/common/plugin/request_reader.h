// Reads a host's loom_job_request (of any struct_size >= the v1.0 minimum)
// into the engine's JobRequest. A field is read only when it lies entirely
// within the host's struct_size; otherwise it keeps loom_job_request_init()'s
// default. Throws PluginError(invalid_argument) naming the bad field.
#pragma once
#include "backends/common/engine/engine_api.h"
#include "plugin_api/include/loom/plugin.h"

namespace loom::plugin {

inline constexpr size_t kMaxJobIdBytes = 128;

// The host's id is returned in `request.id` (not yet prefixed).
JobRequest read_job_request(const loom_job_request& host);

// Copies the fields the host's struct holds over the defaults (exposed for tests).
loom_job_request normalize_job_request(const loom_job_request& host);

}  // namespace loom::plugin
