// A small blocking queue (mutex + condition variable) with close(): what the
// engine's threads and PluginEngine's rejection thread hand each other work in.
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace loom {

template <typename T>
class BlockingQueue {
 public:
  // False (and `item` untouched) once closed.
  bool push(T& item) {
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
    return true;
  }
  bool push(T&& item) { return push(item); }
  // Waits for an item; nullopt once closed and empty.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace loom
