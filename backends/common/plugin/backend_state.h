// loom_backend, the opaque handle: the parsed config, the engine parts and
// the table of jobs in flight. (Doors such as the ZeroMQ endpoint live in
// the host, over the C ABI: see adapters/README.md.)
//
// State machine: created -> started -> drained (-> destroyed). submit needs
// `started`; tokenize, detokenize and stats work in every state.
#pragma once
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "backends/common/plugin/backend_hooks.h"

namespace loom::plugin {

// One in-process job, shared between the job table and its engine callback.
struct InprocJob {
  std::string id;  // the host's id, also the engine's
  loom_job_callback callback;
  void* user_data;
  size_t n_top;    // requested logprobs alternatives
};

enum class BackendStateKind { kCreated, kStarted, kDrained };

}  // namespace loom::plugin

struct loom_backend {
  const loom::plugin::BackendHooks* hooks = nullptr;
  loom::plugin::PluginConfig config;
  loom::plugin::BackendParts parts;

  // Guards `state`: submit holds it shared while handing a job to the engine,
  // drain takes it exclusively to close the door.
  std::shared_mutex state_mu;
  loom::plugin::BackendStateKind state = loom::plugin::BackendStateKind::kCreated;

  std::mutex jobs_mu;
  std::unordered_map<std::string, std::shared_ptr<loom::plugin::InprocJob>> jobs;  // by host id
};

namespace loom::plugin {

// The entry points' bodies (lifecycle.cpp, jobs.cpp, text_api.cpp). Each
// throws on failure; api_table.cpp wraps them with guard().
void backend_probe(const BackendHooks& hooks, loom_probe_info* info);
loom_backend* backend_create(const BackendHooks& hooks, const char* json, size_t len);
void backend_start(loom_backend& b);
void backend_drain(loom_backend& b, int64_t timeout_ms);
void backend_destroy(loom_backend* b) noexcept;
std::string backend_stats_json(loom_backend& b);
void job_submit(loom_backend& b, const loom_job_request& request, loom_job_callback cb, void* user_data);
void job_cancel(loom_backend& b, std::string_view id);

}  // namespace loom::plugin
