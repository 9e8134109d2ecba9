// ZmqEndpoint's insides (internal to adapters/zmq). Everything below the
// Mailbox is owned by the I/O thread and touched by no other thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <zmq.hpp>

#include "adapters/zmq/codec.h"
#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/zap_handler.h"

namespace loom {

using Clock = std::chrono::steady_clock;
inline constexpr const char* kZapDomain = "loom";  // the endpoint's CURVE clients

// What other threads hand the I/O thread: a job's event, or a command.
struct MailItem {
  enum class Kind { kEvent, kStop } kind = Kind::kEvent;
  std::string client;     // client key (ROUTER routing id, or proxy's client bytes)
  std::string client_id;  // the client's id for the job
  JobEvent event;
};

// Engine threads push, the I/O thread takes. Shared with the callbacks so a
// late event after the endpoint is gone lands here harmlessly.
class Mailbox {
 public:
  Mailbox();
  ~Mailbox();
  void push(MailItem item);
  std::deque<MailItem> take();  // clears the wakeup too
  int fd() const { return fd_; }

 private:
  std::mutex mu_;
  std::deque<MailItem> items_;
  int fd_ = -1;  // eventfd: readable while items may be waiting
};

struct JobEntry {
  std::string engine_id;
  bool stream = true;
};

struct ClientState {
  Clock::time_point last_seen;
  std::unordered_map<std::string, JobEntry> jobs;  // client id -> job
  std::deque<std::string> parked;                  // frames waiting for pipe space
  bool gone = false;                               // expired or unroutable: drop its frames
};

class ZmqEndpoint::Impl {
 public:
  Impl(EngineApi& engine, EndpointOptions options);
  ~Impl();
  void drain(std::chrono::milliseconds timeout);
  std::string address() const { return address_; }
  EndpointCounters counters() const;
  void reload_curve_clients() {
    if (zap_) zap_->reload();
  }

 private:
  enum class SendResult { kSent, kFull, kGone };

  void run();
  void poll_once();
  void on_readable();
  void on_mail();
  void on_timer(Clock::time_point now);
  void handle_client_frame(const std::string& client, std::string_view frame);
  void handle_generate(const std::string& client, ClientState& state, JobRequest job);
  void handle_cancel(ClientState& state, const std::string& client_id);
  void on_event(const MailItem& item);
  void reply(const std::string& client, std::string frame);
  void reject(const std::string& client, const std::optional<std::string>& id, ErrorCode code,
              std::string field, std::string message);
  void flush_parked(const std::string& client, ClientState& state);
  void expire(const std::string& client, ClientState& state, const char* why);
  void cancel_all();
  void begin_stop();
  void publish_in_flight();
  void update_counts();
  SendResult send_raw(const std::string& client, const std::string& frame);
  // Worker mode (worker_link.cpp).
  // CURVE and the bind policy (endpoint_security.cpp).
  void secure_socket();
  void after_bind();
  void worker_announce(const char* type);
  void worker_on_frame(std::string_view envelope);
  static std::string worker_wrap(const std::string& client, const std::string& frame);

  EngineApi& engine_;
  EndpointOptions options_;
  bool worker_mode_ = false;
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> zap_;  // bind mode with CURVE; outlives socket_, not context_
  zmq::socket_t socket_;
  std::string address_;
  std::shared_ptr<Mailbox> mailbox_;
  Clock::time_point started_ = Clock::now();
  Clock::time_point last_proxy_seen_ = Clock::now();
  Clock::time_point next_heartbeat_ = Clock::now();
  Clock::time_point next_sweep_ = Clock::now();

  std::unordered_map<std::string, ClientState> clients_;
  size_t jobs_in_flight_ = 0;
  EndpointCounters local_;  // published to counters_ after each loop turn
  uint64_t next_job_seq_ = 0;
  bool stop_loop_ = false;
  bool stopping_ = false;  // kStop seen: cancel, then leave once all jobs ended
  Clock::time_point stop_deadline_;

  // Shared with other threads.
  std::atomic<bool> draining_{false};
  mutable std::mutex counters_mu_;
  std::condition_variable drained_cv_;
  EndpointCounters counters_;
  int64_t in_flight_shared_ = 0;  // jobs_in_flight_, under counters_mu_
  std::thread thread_;
  std::once_flag drain_once_;
};

}  // namespace loom
