// ZmqEndpoint: serves an EngineApi over the v1 job protocol (PROTOCOL.md).
//
// Bind mode: a ROUTER socket on `address` (tcp:// or ipc://) that clients'
// DEALER sockets talk to. Worker mode: a DEALER connected to a `loom proxy`
// at `proxy_address`, announcing itself and exchanging envelopes
// (PROTOCOL.md, "Proxy").
//
// Threading: one I/O thread owns the socket. Engine callbacks (engine
// threads) only push events into a mutex-guarded mailbox and poke an
// eventfd that the I/O thread polls with the socket. The public methods may
// be called from any thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "adapters/zmq/protocol.h"
#include "contract/engine_api.h"

namespace loom {

class ZmqEndpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EndpointOptions {
  std::string address;        // bind mode: "tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "ipc:///tmp/x"
  std::string proxy_address;  // non-empty: worker mode, connect here instead of binding
  zmq_proto::Limits limits;
  // A client with jobs in flight that sends nothing for this long is gone:
  // its jobs are cancelled (bind mode; in worker mode the proxy does it).
  std::chrono::milliseconds keepalive{10000};
  size_t max_jobs_in_flight = 4096;       // endpoint-wide; past it: `overloaded`
  size_t max_jobs_per_client = 1024;      // past it: `overloaded`
  size_t max_parked_per_client = 4096;    // frames held while a client's pipe is full
  int send_hwm = 10000;                   // ZeroMQ pipe size per peer, in frames
  // Worker mode.
  std::string worker_name = "loom-worker";
  int32_t worker_capacity = 64;           // jobs the proxy may route here at once
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds proxy_timeout{5000};  // proxy silent this long: cancel all
  // Security (README.md, "Keys"). Bind mode: CURVE server when
  // curve_secret (a NAME.key_secret file) is set; curve_clients_dir then
  // holds the admitted clients' public certificates (*.key). Worker mode:
  // curve_secret is this worker's certificate and curve_server_public the
  // proxy backend's public certificate. Without CURVE a bind that other
  // machines can reach is refused unless `insecure`.
  std::string curve_secret{};
  std::string curve_clients_dir{};
  std::string curve_server_public{};
  bool insecure = false;
  unsigned ipc_mode = 0600;               // file mode of a bound ipc:// socket
};

struct EndpointCounters {
  int64_t clients = 0;
  int64_t jobs_in_flight = 0;
  int64_t frames_in = 0;
  int64_t frames_rejected = 0;  // answered with `error` by the endpoint itself
  int64_t frames_out = 0;
  int64_t frames_dropped = 0;   // addressed to a client that is gone
  int64_t clients_expired = 0;  // keep-alive expiries and stuck clients
  int64_t auth_denied = 0;      // failed CURVE handshakes: unknown key, wrong server key, no CURVE, abandoned
};

class ZmqEndpoint {
 public:
  // Binds (or connects) and starts the I/O thread; throws ZmqEndpointError
  // when the address cannot be used. `engine` must outlive the endpoint.
  ZmqEndpoint(EngineApi& engine, EndpointOptions options);
  ~ZmqEndpoint();  // drain(0): cancels what is still running
  ZmqEndpoint(const ZmqEndpoint&) = delete;
  ZmqEndpoint& operator=(const ZmqEndpoint&) = delete;

  // The resolved address (tcp port filled in when bound to ":*").
  std::string address() const;
  // Stops accepting (new jobs get `unavailable`), waits up to `timeout` for
  // jobs in flight to finish, cancels the rest and waits briefly for their
  // terminal messages, then closes the socket. Idempotent.
  void drain(std::chrono::milliseconds timeout);
  EndpointCounters counters() const;
  // Re-reads curve_clients_dir (SIGHUP). All or nothing: a bad file keeps
  // the old keys and throws CurveCertError. No-op without CURVE.
  void reload_curve_clients();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom
