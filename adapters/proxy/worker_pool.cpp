#include "adapters/proxy/worker_pool.h"

#include <algorithm>

namespace loom::proxy {

WorkerPool::Announce WorkerPool::announce(const std::string& key, const zmq_proto::Envelope& e,
                                          Clock::time_point now) {
  WorkerInfo* w = find(key);
  Announce result = Announce::kRefreshed;
  if (!w) {
    if (workers_.size() >= max_workers_) return Announce::kRejected;
    workers_.emplace_back();
    workers_.back().key = key;
    w = &workers_.back();
    result = Announce::kJoined;
  }
  w->name = e.worker;
  w->capacity = e.capacity;
  w->reported_load = e.load;
  w->draining = e.draining;
  w->last_seen = now;
  return result;
}

WorkerInfo* WorkerPool::find(const std::string& key) {
  for (auto& w : workers_) {
    if (w.key == key) return &w;
  }
  return nullptr;
}

WorkerInfo* WorkerPool::pick() {
  const size_t n = workers_.size();
  WorkerInfo* best = nullptr;
  size_t best_index = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (next_ + i) % n;
    WorkerInfo& w = workers_[index];
    if (!w.has_room()) continue;
    // load/capacity < best.load/best.capacity, without division.
    const bool lighter = !best || int64_t{w.load()} * best->capacity < int64_t{best->load()} * w.capacity;
    if (lighter) {
      best = &w;
      best_index = index;
    }
  }
  if (best) next_ = best_index + 1;
  return best;
}

std::vector<std::string> WorkerPool::silent_since(Clock::time_point cutoff) const {
  std::vector<std::string> keys;
  for (const auto& w : workers_) {
    if (w.last_seen < cutoff) keys.push_back(w.key);
  }
  return keys;
}

void WorkerPool::remove(const std::string& key) {
  std::erase_if(workers_, [&](const WorkerInfo& w) { return w.key == key; });
}

size_t WorkerPool::accepting() const {
  return std::count_if(workers_.begin(), workers_.end(), [](const WorkerInfo& w) { return w.accepting(); });
}

int64_t WorkerPool::total_capacity() const {
  int64_t sum = 0;
  for (const auto& w : workers_) sum += w.accepting() ? w.capacity : 0;
  return sum;
}

}  // namespace loom::proxy
