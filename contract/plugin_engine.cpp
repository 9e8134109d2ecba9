#include "contract/plugin_engine.h"

#include <cstddef>
#include <nlohmann/json.hpp>

#include "contract/c_abi.h"
#include "contract/blocking_queue.h"

namespace loom {
namespace {

// One submitted job's host-side state, owned by the plugin's callback until
// the terminal event.
struct JobContext {
  JobCallback callback;
};

void on_plugin_event(void* user_data, const loom_job_event* event) {
  auto* ctx = static_cast<JobContext*>(user_data);
  const JobEvent ev = c_abi::job_event_from_c(*event);
  try {
    ctx->callback(ev);
  } catch (...) {
    // A door's callback must not throw; if it does, the job still ends here.
  }
  if (ev.kind != JobEvent::Kind::kDelta) delete ctx;
}

bool has_entry(const loom_plugin_api& api, size_t offset_end) { return api.struct_size >= offset_end; }

constexpr size_t kErrorDetailsEnd = offsetof(loom_plugin_api, error_field) + sizeof(void*);

}  // namespace

class PluginEngine::Rejections {
 public:
  Rejections() : thread_([this] { run(); }) {}
  ~Rejections() {
    queue_.close();
    thread_.join();
  }
  void post(JobCallback cb, JobEvent ev) { queue_.push(Item{std::move(cb), std::move(ev)}); }

 private:
  struct Item {
    JobCallback cb;
    JobEvent ev;
  };
  void run() {
    while (auto item = queue_.pop()) {
      try {
        item->cb(item->ev);
      } catch (...) {
      }
    }
  }
  BlockingQueue<Item> queue_;
  std::thread thread_;
};

PluginEngine::PluginEngine(plugin_host::Backend backend)
    : backend_(std::move(backend)), rejections_(std::make_unique<Rejections>()) {}

PluginEngine::~PluginEngine() {
  try {
    backend_.drain(std::chrono::milliseconds(0));
  } catch (...) {
  }
  backend_ = plugin_host::Backend(nullptr, nullptr);  // destroy before the rejection thread goes
  rejections_.reset();
}

void PluginEngine::start() { backend_.start(); }

void PluginEngine::drain(std::chrono::milliseconds timeout) { backend_.drain(timeout); }

void PluginEngine::submit(JobRequest request, JobCallback callback) {
  const loom_plugin_api& api = backend_.api();
  if (request.params.prompt_logprobs != 0 && api.abi_minor < 2) {
    // A 1.1 plugin would ignore the field and answer without the values.
    JobEvent ev;
    ev.kind = JobEvent::Kind::kError;
    ev.id = request.id;
    ev.error_code = ErrorCode::kBadRequest;
    ev.field = "prompt_logprobs";
    ev.message = "prompt_logprobs: the " + std::string(api.backend_name ? api.backend_name : "?") +
                 " backend speaks ABI " + std::to_string(api.abi_major) + "." + std::to_string(api.abi_minor) +
                 ", which has no prompt log-probabilities (ABI 1.2)";
    rejections_->post(std::move(callback), std::move(ev));
    return;
  }
  const c_abi::CJobRequest c_request(request);
  auto* ctx = new JobContext{callback};
  loom_error* err = api.submit(backend_.handle(), &c_request.get(), on_plugin_event, ctx);
  if (!err) return;
  delete ctx;
  JobEvent ev;
  ev.kind = JobEvent::Kind::kError;
  ev.id = request.id;
  const bool details = has_entry(api, kErrorDetailsEnd);
  ev.error_code = c_abi::error_from_c(api.error_code(err), details ? api.error_name(err) : "");
  ev.message = api.error_message(err);
  if (details) ev.field = api.error_field(err);
  api.error_free(err);
  rejections_->post(std::move(callback), std::move(ev));
}

void PluginEngine::cancel(const std::string& id) {
  try {
    backend_.cancel(id);
  } catch (const plugin_host::Error&) {
    // Not in flight (never submitted, or its terminal event has begun): ignored.
  }
}

std::string PluginEngine::stats_json() const { return backend_.stats_json(); }
EngineStats PluginEngine::stats() const { return engine_stats_from_json(stats_json()); }
EngineHealth PluginEngine::health() const { return engine_health_from_json(stats_json()); }
ModelInfo PluginEngine::model_info() const { return model_info_from_json(stats_json()); }

std::vector<int32_t> PluginEngine::tokenize(const std::string& text, bool add_special, bool parse_special) const {
  try {
    return backend_.tokenize(text, add_special, parse_special);
  } catch (const plugin_host::Error& e) {
    if (e.code() == LOOM_ERR_INVALID_ARGUMENT) throw EngineInputError(e.what());
    throw;
  }
}

std::string PluginEngine::detokenize(const std::vector<int32_t>& ids) const {
  try {
    return backend_.detokenize(ids);
  } catch (const plugin_host::Error& e) {
    if (e.code() == LOOM_ERR_INVALID_ARGUMENT) throw EngineInputError(e.what());
    throw;
  }
}

EngineStats engine_stats_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  EngineStats s;
  s.waiting = j.value("waiting", 0);
  s.running = j.value("running", 0);
  s.preempted = j.value("preempted", 0);
  s.kv_blocks_used = j.value("kv_blocks_used", int64_t{0});
  s.kv_blocks_total = j.value("kv_blocks_total", int64_t{0});
  s.prefix_hit_rate = j.value("prefix_hit_rate", 0.0);
  s.preemptions = j.value("preemptions", int64_t{0});
  s.tokens_per_second = j.value("tokens_per_second", 0.0);
  s.jobs_finished = j.value("jobs_finished", int64_t{0});
  s.uptime_s = j.value("uptime_s", 0.0);
  s.prefix_query_tokens = j.value("prefix_query_tokens", int64_t{0});
  s.prefix_hit_tokens = j.value("prefix_hit_tokens", int64_t{0});
  s.prompt_tokens_total = j.value("prompt_tokens_total", int64_t{0});
  s.generation_tokens_total = j.value("generation_tokens_total", int64_t{0});
  return s;
}

EngineHealth engine_health_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  EngineHealth h;
  if (!j.contains("health") || !j["health"].is_object()) return h;
  const auto& hj = j["health"];
  h.ok = hj.value("ok", false);
  h.last_step_age_ms = hj.value("last_step_age_ms", 0.0);
  h.detail = hj.value("detail", std::string());
  return h;
}

ModelInfo model_info_from_json(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  ModelInfo m;
  if (!j.contains("model") || !j["model"].is_object()) return m;
  const auto& mj = j["model"];
  m.name = mj.value("name", std::string());
  m.max_context = mj.value("max_context", int64_t{0});
  m.n_vocab = mj.value("n_vocab", 0);
  if (mj.contains("eos_ids")) m.eos_ids = mj["eos_ids"].get<std::vector<int32_t>>();
  return m;
}

}  // namespace loom
