// ZmqClient: the C++ client of the v1 job protocol (a DEALER socket).
//
//   loom::ZmqClient client({.endpoint = "ipc:///tmp/loom.sock"});
//   loom::JobRequest job;
//   job.prompt.value = std::string("Hello");
//   auto stream = client.generate(std::move(job));
//   while (auto ev = stream.next()) { if (ev->kind == JobEvent::Kind::kDelta) std::cout << ev->text; }
//
// Thread-compatible: one thread at a time per client (ZeroMQ sockets are
// not thread-safe); use one client per thread. Several streams of one client
// may be read interleaved: frames for other jobs are buffered.
// Keep-alive is automatic: while the client waits for frames with jobs in
// flight it sends a `health` request whenever it has been silent for
// `keepalive_interval` (keep that well below the backend's keep-alive).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "adapters/zmq/codec.h"

namespace loom {

// No answer within the client's timeout (the job, if any, is cancelled).
class ClientTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  std::string endpoint;                           // "tcp://host:port" or "ipc:///path"
  std::chrono::milliseconds timeout{30000};       // max wait for the next frame
  std::chrono::milliseconds keepalive_interval{2000};
  // CURVE (both or neither): the server's public certificate (NAME.key) and
  // this client's secret certificate (NAME.key_secret), as `loom keygen` or
  // pyzmq's zmq.auth write them. A server that does not admit the key sends
  // nothing at all: the client sees ClientTimeout.
  std::string curve_server_public{};
  std::string curve_secret{};
};

class ZmqClient {
 public:
  class Stream {
   public:
    // The next event of this job (kDelta..., then one kDone or kError);
    // nullopt once the terminal event was returned. Throws ClientTimeout.
    std::optional<JobEvent> next();
    const std::string& id() const { return id_; }
    void cancel();
    ~Stream();  // an unfinished stream cancels its job
    Stream(Stream&& other) noexcept;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    Stream& operator=(Stream&&) = delete;

   private:
    friend class ZmqClient;
    Stream(ZmqClient* client, std::string id) : client_(client), id_(std::move(id)) {}
    ZmqClient* client_;
    std::string id_;
    bool finished_ = false;
  };

  explicit ZmqClient(ClientOptions options);
  ~ZmqClient();

  // Sends the job; an empty request.id gets a fresh unique one.
  Stream generate(JobRequest request);
  // Convenience: the whole text of a job (the terminal event, text filled in
  // from the deltas when streamed).
  JobEvent generate_all(JobRequest request);
  void cancel(const std::string& id);  // best effort, never blocks
  zmq_proto::StatsReply stats();
  zmq_proto::HealthReply health();

 private:
  struct Socket;
  zmq_proto::ServerMessage wait_for(const std::optional<std::string>& id, zmq_proto::ServerMessage::Type type);
  std::optional<zmq_proto::ServerMessage> take_buffered(const std::optional<std::string>& id,
                                                        zmq_proto::ServerMessage::Type type);
  bool pump(std::chrono::milliseconds budget);
  void send(const std::string& frame, std::chrono::milliseconds wait);  // throws ClientTimeout

  ClientOptions options_;
  std::unique_ptr<Socket> socket_;
  std::chrono::steady_clock::time_point last_send_;
  uint64_t next_id_ = 0;
  std::string id_prefix_;
  std::unordered_map<std::string, std::deque<zmq_proto::ServerMessage>> jobs_;  // in flight
  std::deque<zmq_proto::ServerMessage> replies_;                               // stats/health/errors
};

}  // namespace loom
