// stats(): one JSON object with the engine's counters, its health, the
// model's facts and the start-up report (where the memory went).
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

}  // namespace

std::string backend_stats_json(loom_backend& b) {
  const EngineStats s = b.parts.engine->stats();
  const EngineHealth h = b.parts.engine->health();
  const ModelInfo m = b.parts.engine->model_info();
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
      {"prefix_query_tokens", s.prefix_query_tokens},
      {"prefix_hit_tokens", s.prefix_hit_tokens},
      {"prompt_tokens_total", s.prompt_tokens_total},
      {"generation_tokens_total", s.generation_tokens_total},
      {"health", {{"ok", h.ok}, {"last_step_age_ms", h.last_step_age_ms}, {"detail", h.detail}}},
      {"startup", b.parts.report},
      {"model", {{"name", m.name}, {"max_context", m.max_context}, {"n_vocab", m.n_vocab}, {"eos_ids", m.eos_ids}}},
  };
  {
    std::shared_lock lock(b.state_mu);
    j["state"] = state_name(b.state);
  }
  {
    std::lock_guard lock(b.jobs_mu);
    j["inproc_jobs_in_flight"] = b.jobs.size();
  }
  return j.dump();
}

}  // namespace loom::plugin
