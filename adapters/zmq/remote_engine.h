// RemoteEngine: a loom::EngineApi over the ZeroMQ v1 protocol, so that a
// door in one process (the HTTP gateway, `loom http --connect`) serves an
// engine in another (`loom serve`) or many behind a `loom proxy`.
//
// Threading: one I/O thread owns the DEALER socket; every method may be
// called from any thread and only queues a frame (submit, cancel) or queues
// one and waits for its reply (stats, health, model_info, tokenize,
// detokenize: throw std::runtime_error past `timeout`). Job callbacks run on
// the I/O thread. Keep-alive is automatic while jobs are in flight.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "contract/engine_api.h"

namespace loom {

struct RemoteEngineOptions {
  std::string endpoint;                          // "tcp://host:port" or "ipc:///path"
  std::chrono::milliseconds timeout{10000};      // for a reply to a request that waits for one
  std::chrono::milliseconds keepalive_interval{2000};
};

class RemoteEngine final : public EngineApi {
 public:
  explicit RemoteEngine(RemoteEngineOptions options);
  ~RemoteEngine() override;  // jobs still in flight get kError/unavailable
  RemoteEngine(const RemoteEngine&) = delete;
  RemoteEngine& operator=(const RemoteEngine&) = delete;

  // request.id must be unique among this engine's jobs in flight.
  void submit(JobRequest request, JobCallback callback) override;
  void cancel(const std::string& id) override;
  EngineStats stats() const override;
  EngineHealth health() const override;
  ModelInfo model_info() const override;
  std::vector<int32_t> tokenize(const std::string& text, bool add_special, bool parse_special) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom
