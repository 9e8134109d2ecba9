// VllmDoor's insides (internal to adapters/vllm). Everything below the
// Mailbox is owned by the I/O thread.
#pragma once
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <zmq.hpp>

#include "adapters/vllm/codec.h"
#include "adapters/vllm/door.h"
#include "adapters/vllm/request_map.h"

namespace loom {

using DoorClock = std::chrono::steady_clock;

struct DoorMail {
  enum class Kind { kEvent, kDrain, kFail } kind = Kind::kEvent;
  JobEvent event;
  std::chrono::milliseconds timeout{0};
  std::string why;
};

// Engine threads push, the I/O thread takes; shared with the callbacks so an
// event after the door is gone lands here harmlessly.
class DoorMailbox {
 public:
  DoorMailbox();
  ~DoorMailbox();
  void push(DoorMail item);
  std::deque<DoorMail> take();
  int fd() const { return fd_; }

 private:
  std::mutex mu_;
  std::deque<DoorMail> items_;
  int fd_ = -1;  // eventfd
};

struct DoorJob {
  vllm_door::StopPlan stop;
  std::optional<int32_t> num_logprobs;
  bool aborted = false;   // the frontend aborted it: it expects nothing more
  bool finished = false;  // the door finished it on a stop id: ignore the rest
};

class VllmDoor::Impl {
 public:
  Impl(EngineApi& engine, VllmDoorOptions options);
  ~Impl();
  void drain(std::chrono::milliseconds timeout);
  void fail(const std::string& why);
  bool dead() const { return dead_.load(); }
  VllmDoorCounters counters() const;

 private:
  void handshake();
  void run();
  void on_input();
  void on_mail();
  void on_timer(DoorClock::time_point now);
  void handle_frames(const std::vector<zmq::message_t>& parts);
  void handle_add(const vllm_door::AddRequest& add);
  void handle_abort(const std::vector<std::string>& ids);
  void handle_utility(const vllm_door::UtilityCall& call);
  void handle_event(const JobEvent& ev);
  void on_tokens(const JobEvent& ev, DoorJob& job);
  void finish(const std::string& id, vllm_wire::FinishReason reason, std::optional<vllm_door::RequestErrorOut> error = {});
  vllm_door::OutputEntry& entry(const std::string& id);
  void flush();
  void send_stats(bool force);
  void send_dead(const std::string& why);

  EngineApi& engine_;
  VllmDoorOptions options_;
  ModelInfo model_;
  zmq::context_t ctx_;
  zmq::socket_t input_;   // DEALER to the frontend's input ROUTER
  zmq::socket_t output_;  // PUSH to the frontend's output PULL
  std::shared_ptr<DoorMailbox> mailbox_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, dead_{false};

  // I/O thread only.
  std::unordered_map<std::string, DoorJob> jobs_;
  vllm_door::OutputsBatch pending_;
  std::unordered_map<std::string, size_t> pending_index_;
  bool draining_ = false;
  DoorClock::time_point drain_deadline_;
  bool exited_ = false;
  DoorClock::time_point next_stats_, next_health_;
  std::optional<DoorClock::time_point> unhealthy_since_;
  vllm_door::SchedulerStatsOut last_stats_;
  int64_t last_queries_ = 0, last_hits_ = 0, adds_since_stats_ = 0;
  bool stats_sent_ = false;

  mutable std::mutex counters_mu_;
  VllmDoorCounters counters_;
};

}  // namespace loom
