// loom proxy: a broker between v1 protocol clients and a pool of backend
// workers (PROTOCOL.md, "Proxy"; README.md here for the routing rules).
//
//   loom::ProxyOptions options;
//   options.frontend = "tcp://0.0.0.0:5555";   // clients' DEALERs connect here
//   options.backend = "ipc:///tmp/loom-workers"; // workers (EndpointOptions::proxy_address)
//   std::atomic<bool> stop{false};               // set from a SIGTERM handler
//   loom::run_proxy(options, stop);              // binds, serves, drains, returns
//
// Threading: Proxy::run() runs the whole broker on the calling thread (one
// poll loop owns both sockets and all state); counters() and the addresses
// may be read from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "adapters/zmq/protocol.h"

namespace loom {

// Bad options or an address that cannot be bound.
class ProxyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ProxyOptions {
  std::string frontend = "tcp://127.0.0.1:5555";  // ROUTER for clients ("...:*" picks a port)
  std::string backend = "tcp://127.0.0.1:5556";   // ROUTER for workers
  zmq_proto::Limits limits;                       // frame size and id length (jobs are checked by the worker)
  // Heartbeats both ways every `heartbeat`; a worker silent for
  // `heartbeat_timeout` is dead (0: 5 x heartbeat, as PROTOCOL.md says).
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds heartbeat_timeout{0};
  // All workers busy (none below its capacity): a job waits up to
  // `queue_timeout` in a FIFO of at most `max_queued`, then gets `overloaded`.
  // No worker accepting jobs at all: `unavailable` at once.
  std::chrono::milliseconds queue_timeout{1000};
  size_t max_queued = 1024;
  // A client with jobs in flight silent this long is gone: its jobs are cancelled.
  std::chrono::milliseconds keepalive{10000};
  size_t max_jobs_in_flight = 4096;   // proxy-wide, queued included; past it `overloaded`
  size_t max_jobs_per_client = 1024;
  size_t max_workers = 256;           // further `ready`s are ignored (logged)
  int send_hwm = 10000;               // frames per peer pipe; a full client pipe = client gone
  size_t max_worker_frame_bytes = 64u << 20;  // envelopes from workers (trusted, but bounded)
  // On stop: wait this long for jobs in flight, then answer the rest `unavailable`.
  std::chrono::milliseconds drain_timeout{10000};
  // CURVE (../zmq/README.md, "Keys"), each side on its own: a secret
  // certificate (NAME.key_secret) and a directory of admitted public
  // certificates (*.key), both or neither. Frontend: clients; backend: workers.
  std::string frontend_curve_secret, frontend_curve_clients;
  std::string backend_curve_secret, backend_curve_clients;

  std::chrono::milliseconds effective_heartbeat_timeout() const {
    return heartbeat_timeout.count() > 0 ? heartbeat_timeout : 5 * heartbeat;
  }
};

struct ProxyCounters {
  int64_t workers = 0;            // registered and alive
  int64_t workers_accepting = 0;  // alive and not draining
  int64_t jobs_in_flight = 0;     // accepted, not yet terminal (queued included)
  int64_t jobs_queued = 0;
  int64_t clients = 0;            // clients with jobs in flight
  int64_t jobs_finished = 0;      // terminal messages forwarded from workers
  int64_t jobs_unavailable = 0;   // answered `unavailable` by the proxy (worker died, none, stop)
  int64_t workers_lost = 0;       // declared dead
  int64_t frames_in = 0;          // from clients
  int64_t frames_out = 0;         // to clients
  int64_t frames_dropped = 0;     // late/stray worker replies, frames to gone clients
  int64_t auth_denied = 0;        // CURVE handshakes refused on the frontend
  int64_t workers_auth_denied = 0;  // ... and on the backend
};

class Proxy {
 public:
  // Binds both sockets; throws ProxyError.
  explicit Proxy(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  std::string frontend_address() const;  // resolved (tcp port filled in)
  std::string backend_address() const;
  // Serves until `stop` is true, then stops accepting (new jobs:
  // `unavailable`), waits up to drain_timeout for jobs in flight, answers
  // the rest `unavailable`, cancels them on their workers and returns.
  // Call once.
  void run(const std::atomic<bool>& stop);
  ProxyCounters counters() const;
  // Asks the loop to re-read the CURVE key directories (SIGHUP). Only sets
  // a lock-free flag, so a signal handler may call it; a bad file keeps the
  // old keys (logged).
  void request_reload() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Proxy(options).run(stop); `on_bound` (optional) hears the resolved
// addresses once both sockets are bound. Throws ProxyError.
void run_proxy(const ProxyOptions& options, const std::atomic<bool>& stop,
               const std::function<void(const Proxy&)>& on_bound = {});

}  // namespace loom
