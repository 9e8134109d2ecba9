// One completions / chat request in flight: its n jobs, their events turned
// into one JSON answer or an SSE stream (internal to adapters/http).
// Every method runs on the connection's strand; engine callbacks only post.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http/request_map.h"
#include "adapters/http/response.h"
#include "adapters/http/server_core.h"

namespace loom::http {

// Where a generation's bytes go: the connection.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string bytes) = 0;
  // The response is complete (after its last write).
  virtual void response_done() = 0;
};

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  using Clock = std::chrono::steady_clock;
  Generation(HttpServer::Core& core, MappedRequest request, ResponseMeta meta, bool keep_alive,
             std::shared_ptr<Sink> sink, net::any_io_executor strand);
  // Submits the n jobs; their events come back through the strand.
  void start();
  // The client is gone: cancel what still runs; write nothing more.
  void abandon();
  bool finished() const { return finished_; }

 private:
  struct Choice {
    std::string id;
    std::string text;  // non-stream: the whole output
    std::vector<TokenLogprobs> logprobs;
    size_t text_bytes = 0;  // streamed so far (completions logprobs offsets)
    bool first_sent = false, done = false, got_token = false;
    FinishReason finish = FinishReason::kStop;
    JobUsage usage;
    Clock::time_point last_token;
  };
  void on_event(size_t index, const JobEvent& event);
  void on_delta(Choice& c, size_t index, const JobEvent& event);
  void on_done(Choice& c, size_t index, const JobEvent& event);
  void on_error(const JobEvent& event);
  void begin_stream();
  void finish_all();
  void emit(std::string bytes);
  void end();
  void cancel_others();
  void record(const Choice& c, const JobEvent& done);
  JobUsage total_usage() const;

  HttpServer::Core& core_;
  MappedRequest request_;
  ResponseMeta meta_;
  bool keep_alive_;
  // Held until the answer is complete (or abandoned): the connection must
  // live while its jobs run, even with no socket operation pending.
  std::shared_ptr<Sink> sink_;
  net::any_io_executor strand_;
  std::vector<Choice> choices_;
  Clock::time_point start_;
  size_t remaining_ = 0;
  bool header_sent_ = false, finished_ = false, abandoned_ = false;
};

}  // namespace loom::http
