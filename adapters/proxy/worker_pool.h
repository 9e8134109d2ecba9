// The proxy's view of its workers: who is alive, how loaded, who gets the
// next job. Pure bookkeeping (no sockets), unit-tested on its own.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/zmq/proxy_envelope.h"

namespace loom::proxy {

using Clock = std::chrono::steady_clock;

struct WorkerInfo {
  std::string key;             // the worker's routing id on the backend ROUTER
  std::string name;            // from `ready`, for logs and stats
  int32_t capacity = 0;        // jobs it accepts at once
  int32_t reported_load = 0;   // `load` of its last ready/heartbeat
  int32_t in_flight = 0;       // jobs this proxy routed there, not yet terminal
  bool draining = false;
  Clock::time_point last_seen;
  int64_t jobs_routed = 0;

  // The reported load lags the jobs routed since; the proxy's own count lags
  // nothing but misses jobs it does not know of (a previous proxy's, orphans).
  int32_t load() const { return in_flight > reported_load ? in_flight : reported_load; }
  bool accepting() const { return !draining && capacity > 0; }
  bool has_room() const { return accepting() && load() < capacity; }
};

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_workers) : max_workers_(max_workers) {}

  enum class Announce { kJoined, kRefreshed, kRejected };
  // A `ready` or `heartbeat` from `key`: registers an unknown worker (a
  // heartbeat from one counts as `ready`) or refreshes a known one.
  // kRejected when the pool is full.
  Announce announce(const std::string& key, const zmq_proto::Envelope& e, Clock::time_point now);
  WorkerInfo* find(const std::string& key);
  // The worker with room and the lowest load/capacity; ties go round-robin
  // (the scan starts after the last pick). nullptr when none has room.
  WorkerInfo* pick();
  // Keys of workers not heard from since `cutoff`.
  std::vector<std::string> silent_since(Clock::time_point cutoff) const;
  void remove(const std::string& key);

  const std::vector<WorkerInfo>& workers() const { return workers_; }
  size_t accepting() const;
  int64_t total_capacity() const;  // of accepting workers

 private:
  size_t max_workers_;
  std::vector<WorkerInfo> workers_;  // join order; short, scanned linearly
  size_t next_ = 0;                  // round-robin cursor
};

}  // namespace loom::proxy
