#include "adapters/http/server_core.h"

#include "adapters/http/generation.h"

namespace loom::http {

HttpServer::Core::Core(EngineApi& e, ServerOptions o) : engine(e), options(std::move(o)) {}

std::optional<ModelInfo> HttpServer::Core::model() {
  {
    std::lock_guard lock(mu_);
    if (model_) return model_;
  }
  ModelInfo info;
  try {
    info = engine.model_info();
  } catch (const std::exception&) {
    return std::nullopt;  // not reachable yet: asked again next time
  }
  std::lock_guard lock(mu_);
  if (!model_) model_ = std::move(info);
  return model_;
}

std::string HttpServer::Core::model_name() {
  auto m = model();
  return m ? m->name : std::string("loom");
}

DoorMetrics& HttpServer::Core::metrics() {
  auto m = model();  // bucket bounds follow the context: wait for it when possible
  std::lock_guard lock(mu_);
  if (!metrics_) metrics_ = std::make_unique<DoorMetrics>(m ? m->max_context : 8192);
  return *metrics_;
}

std::string HttpServer::Core::token_text(int32_t id) {
  {
    std::lock_guard lock(mu_);
    if (auto it = token_text_.find(id); it != token_text_.end()) return it->second;
  }
  std::string text;
  try {
    text = engine.detokenize({id});
  } catch (const std::exception&) {
    return "";
  }
  std::lock_guard lock(mu_);
  if (token_text_.size() < (1u << 20)) token_text_.emplace(id, text);
  return text;
}

void HttpServer::Core::job_started(const std::string& id) {
  std::lock_guard lock(mu_);
  in_flight_.insert(id);
}
void HttpServer::Core::job_ended(const std::string& id) {
  std::lock_guard lock(mu_);
  in_flight_.erase(id);
}
std::vector<std::string> HttpServer::Core::jobs_in_flight() {
  std::lock_guard lock(mu_);
  return {in_flight_.begin(), in_flight_.end()};
}
size_t HttpServer::Core::jobs_in_flight_count() {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

void HttpServer::Core::adopt(std::shared_ptr<Generation> g) {
  std::lock_guard lock(mu_);
  const Generation* key = g.get();
  generations_.emplace(key, std::move(g));
}
void HttpServer::Core::release(const Generation* g) {
  std::shared_ptr<Generation> last;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  if (auto it = generations_.find(g); it != generations_.end()) {
    last = std::move(it->second);
    generations_.erase(it);
  }
}
std::vector<std::shared_ptr<Generation>> HttpServer::Core::take_generations() {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Generation>> out;
  out.reserve(generations_.size());
  for (auto& [key, g] : generations_) out.push_back(std::move(g));
  generations_.clear();
  return out;
}

}  // namespace loom::http
