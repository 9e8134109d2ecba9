// stats(): one JSON object with the engine's counters, its health, the
// endpoint's counters and the start-up report (where the memory went).
#include <nlohmann/json.hpp>

#include "backends/common/plugin/backend_state.h"

namespace loom::plugin {
namespace {

const char* state_name(BackendStateKind s) {
  switch (s) {
    case BackendStateKind::kCreated: return "created";
    case BackendStateKind::kStarted: return "started";
    case BackendStateKind::kDrained: return "drained";
  }
  return "unknown";
}

nlohmann::json endpoint_json(const ZmqEndpoint& endpoint) {
  const EndpointCounters c = endpoint.counters();
  return {{"address", endpoint.address()}, {"clients", c.clients},           {"jobs_in_flight", c.jobs_in_flight},
          {"frames_in", c.frames_in},      {"frames_rejected", c.frames_rejected}, {"frames_out", c.frames_out},
          {"frames_dropped", c.frames_dropped}, {"clients_expired", c.clients_expired}};
}

}  // namespace

std::string backend_stats_json(loom_backend& b) {
  const EngineStats s = b.parts.engine->stats();
  const EngineHealth h = b.parts.engine->health();
  nlohmann::json j = {
      {"backend", b.hooks->name},
      {"waiting", s.waiting},
      {"running", s.running},
      {"preempted", s.preempted},
      {"kv_blocks_used", s.kv_blocks_used},
      {"kv_blocks_total", s.kv_blocks_total},
      {"prefix_hit_rate", s.prefix_hit_rate},
      {"preemptions", s.preemptions},
      {"tokens_per_second", s.tokens_per_second},
      {"jobs_finished", s.jobs_finished},
      {"uptime_s", s.uptime_s},
      {"health", {{"ok", h.ok}, {"last_step_age_ms", h.last_step_age_ms}, {"detail", h.detail}}},
      {"startup", b.parts.report},
  };
  {
    std::shared_lock lock(b.state_mu);
    j["state"] = state_name(b.state);
    j["endpoint"] = b.endpoint ? endpoint_json(*b.endpoint) : nlohmann::json(nullptr);
  }
  {
    std::lock_guard lock(b.jobs_mu);
    j["inproc_jobs_in_flight"] = b.jobs.size();
  }
  return j.dump();
}

}  // namespace loom::plugin
