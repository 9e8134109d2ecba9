// The engine as every door sees it: submit a job with a callback, cancel it,
// ask for stats, health and the model's text functions. The ZeroMQ v1
// endpoint, the HTTP server and the vLLM EngineCore door are written against
// this interface only. Implementations: loom::Engine (backends/common/engine,
// inside a backend), PluginEngine (contract/plugin_engine.h: a backend .so
// seen through the C ABI, what `loom serve` hands its doors) and the ZeroMQ
// client engine of a gateway.
//
// Threading: every method may be called from any thread. The callback runs
// on an engine-owned thread (never inside submit), must not block, and must
// not call back into the engine except cancel(). Every submitted job gets
// exactly one terminal event (kDone or kError) and no event after it;
// rejections (bad request, too long, overloaded, stopping) are that one
// kError event.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "contract/job.h"

namespace loom {

struct EngineStats {
  int32_t waiting = 0, running = 0, preempted = 0;
  int64_t kv_blocks_used = 0, kv_blocks_total = 0;
  double prefix_hit_rate = 0;
  int64_t preemptions = 0;       // since start, all requests
  double tokens_per_second = 0;  // generated, over the last few seconds
  int64_t jobs_finished = 0;
  double uptime_s = 0;
  // Totals since start (the Prometheus counters of the doors).
  int64_t prefix_query_tokens = 0;  // prompt tokens looked up in the prefix cache
  int64_t prefix_hit_tokens = 0;    // of those, found
  int64_t prompt_tokens_total = 0;  // prompt tokens of admitted jobs
  int64_t generation_tokens_total = 0;
};

struct EngineHealth {
  bool ok = false;               // the loop made progress recently or is idle
  double last_step_age_ms = 0;   // since the engine loop last completed a step or idled
  std::string detail;
};

// What a door tells its clients about the model behind it.
struct ModelInfo {
  std::string name;         // from the model file (general.name), else its file name
  int64_t max_context = 0;  // tokens per sequence (prompt + output)
  int32_t n_vocab = 0;
  std::vector<int32_t> eos_ids;  // end-of-generation ids
};

// Thrown by tokenize/detokenize for bad input (an id outside the vocabulary).
struct EngineInputError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class EngineApi {
 public:
  virtual ~EngineApi() = default;
  // Rejections (bad request, too long, overloaded, stopping) arrive as one
  // kError event through the callback, like every other outcome.
  virtual void submit(JobRequest request, JobCallback callback) = 0;
  // Unknown or finished ids are ignored; a job in flight ends with kDone/kCancelled.
  virtual void cancel(const std::string& id) = 0;
  virtual EngineStats stats() const = 0;
  virtual EngineHealth health() const = 0;
  virtual ModelInfo model_info() const = 0;
  virtual std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const = 0;
  virtual std::string detokenize(const std::vector<int32_t>& ids) const = 0;
};

}  // namespace loom
