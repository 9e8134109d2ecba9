// What the connections of one HttpServer share (internal to adapters/http).
#pragma once
#include <atomic>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "adapters/http/metrics.h"
#include "adapters/http/server.h"

namespace loom::http {

namespace net = boost::asio;

class Generation;

// Shared with make_shared; engine callbacks hold it weakly, so an event that
// arrives after the server is gone finds nothing to touch.
struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  Core(EngineApi& engine, ServerOptions options);

  EngineApi& engine;
  const ServerOptions options;
  net::io_context ioc;
  net::ip::tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> next_id{0};

  // The model as the engine describes it, asked once it answers (a gateway's
  // engine may not be reachable at start).
  std::optional<ModelInfo> model();
  std::string model_name();
  // The text of one token, cached (logprobs ask for the same ids again and again).
  std::string token_text(int32_t id);
  DoorMetrics& metrics();

  // Jobs submitted and not yet terminal, so that stop() can cancel them.
  void job_started(const std::string& id);
  void job_ended(const std::string& id);
  std::vector<std::string> jobs_in_flight();
  size_t jobs_in_flight_count();

  // Generations whose jobs have not all ended are owned here, not by the
  // engine's callbacks: a callback that outlives the server must not hold the
  // last reference to anything bound to ioc. stop() takes them back.
  void adopt(std::shared_ptr<Generation> g);
  void release(const Generation* g);
  std::vector<std::shared_ptr<Generation>> take_generations();

 private:
  std::mutex mu_;
  std::optional<ModelInfo> model_;
  std::unique_ptr<DoorMetrics> metrics_;
  std::unordered_map<int32_t, std::string> token_text_;
  std::set<std::string> in_flight_;
  std::unordered_map<const Generation*, std::shared_ptr<Generation>> generations_;
};

}  // namespace loom::http
