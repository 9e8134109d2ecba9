// Proxy's insides (internal to adapters/proxy). One thread (the caller of
// run()) owns both sockets and everything below; only `shared_` is read by
// other threads.
//
// State, all bounded: workers (≤ max_workers), clients with jobs in flight
// and their routes (≤ max_jobs_in_flight jobs in all), the FIFO queue
// (≤ max_queued), ZeroMQ pipes (≤ send_hwm frames each).
#pragma once
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <zmq.hpp>

#include "adapters/proxy/proxy.h"
#include "adapters/proxy/worker_pool.h"
#include "adapters/zmq/codec.h"
#include "adapters/zmq/proxy_envelope.h"
#include "adapters/zmq/zap_handler.h"

namespace loom {

using proxy::Clock;

// Where one accepted `generate` is: on a worker (its key) or queued ("").
struct Route {
  std::string worker;
};

struct ClientJobs {
  Clock::time_point last_seen;
  std::unordered_map<std::string, Route> jobs;  // client's id -> route
  // Silent past keep-alive or not reading: its jobs were cancelled and
  // frames to it are dropped, until it speaks again.
  bool gone = false;
};

struct QueuedJob {
  std::string client, id, frame;
  Clock::time_point deadline;
};

inline constexpr const char* kFrontendDomain = "clients";  // ZAP domains of the two sides
inline constexpr const char* kBackendDomain = "workers";

class Proxy::Impl {
 public:
  explicit Impl(ProxyOptions options);
  void run(const std::atomic<bool>& stop);
  ProxyCounters counters() const;
  void request_reload() { reload_requested_ = true; }
  std::string frontend_address() const { return frontend_address_; }
  std::string backend_address() const { return backend_address_; }

 private:
  enum class SendResult { kSent, kFull, kGone };

  // proxy.cpp: the loop.
  void poll_once();
  void on_timer(Clock::time_point now);
  void begin_stop();
  void finish_remaining();
  void publish();
  void secure_sockets();  // proxy_security.cpp
  void reload_keys();

  // proxy_clients.cpp: the client side.
  void read_frontend();
  void on_client_frame(const std::string& client, std::string_view frame);
  void accept_generate(const std::string& client, const std::string& id, std::string_view frame);
  void on_cancel(const std::string& client, const std::string& id, std::string_view frame);
  std::optional<std::string> route_job(const std::string& client, std::string_view frame);
  void dispatch_queue(Clock::time_point now);
  void fail_queue(zmq_proto::ProtocolError error);
  void drop_queued(const std::string& client, const std::string& id);
  void declare_gone(const std::string& client, const char* why);
  void expire_silent_clients(Clock::time_point now);
  void end_job(const std::string& client, const std::string& id);
  void send_client(const std::string& client, const std::string& frame);
  void reject(const std::string& client, const std::optional<std::string>& id, ErrorCode code,
              std::string message, std::string field = "");

  // proxy_workers.cpp: the worker side.
  void read_backend();
  void on_worker_frame(const std::string& worker, std::string_view frame);
  void on_reply(const std::string& worker, const zmq_proto::Envelope& e);
  void kill_worker(const std::string& worker, const char* why);
  void send_heartbeats();
  SendResult send_worker(const std::string& worker, const zmq_proto::Envelope& e);
  void send_cancel(const std::string& worker, const std::string& client, const std::string& id);

  // proxy_replies.cpp: stats and health, answered by the proxy itself.
  std::string stats_frame(const std::optional<std::string>& id) const;
  std::string health_frame(const std::optional<std::string>& id) const;

  ProxyOptions options_;
  std::chrono::milliseconds heartbeat_timeout_;
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // with CURVE on either side
  std::atomic<bool> reload_requested_{false};
  zmq::socket_t frontend_;
  zmq::socket_t backend_;
  std::string frontend_address_, backend_address_;

  proxy::WorkerPool pool_;
  std::unordered_map<std::string, ClientJobs> clients_;  // only clients with jobs
  std::deque<QueuedJob> queue_;                          // FIFO: deadlines ascend
  size_t jobs_total_ = 0;                                // routed + queued
  ProxyCounters local_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point next_heartbeat_ = Clock::now();
  bool stopping_ = false;
  Clock::time_point stop_deadline_;

  mutable std::mutex shared_mu_;
  ProxyCounters shared_;
};

}  // namespace loom
