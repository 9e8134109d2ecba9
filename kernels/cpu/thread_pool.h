// A persistent thread pool for the forward pass: size()-1 worker threads plus
// the calling thread. Decode issues ~200 parallel ops per token, so a call
// costs a few microseconds: workers spin briefly on a generation counter after
// each job, then sleep on it (futex via std::atomic::wait) so an idle pool
// burns no CPU.
//
//   ThreadPool pool(2);
//   pool.parallel_for(rows, [&](int64_t begin, int64_t end, int thread) { ... });
//
// Every index in [0, n) is passed exactly once; workers that are slow to
// wake simply miss the job (the caller and the awake ones do its chunks); `thread` is in [0, size()) and
// unique among the callbacks running at once (use it to pick scratch space).
// A parallel_for called from inside a callback of the same pool runs inline on
// that thread. Calls from different outside threads are serialized. An
// exception thrown by a callback is rethrown to the caller after all threads
// finish (remaining chunks are skipped).
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace loom {

// A non-owning reference to a callable: cheaper than std::function (no
// allocation, one indirect call). The callable must outlive the call.
template <typename Sig>
class FunctionRef;
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F>
    requires(!std::is_same_v<std::decay_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f)  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

class ThreadPool {
 public:
  using RangeFn = FunctionRef<void(int64_t begin, int64_t end, int thread)>;

  // n_threads >= 1 counts the caller; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Splits [0, n) into chunks of at least `grain` indices, handed out
  // dynamically to the caller and the workers.
  void parallel_for(int64_t n, RangeFn fn, int64_t grain = 1);

 private:
  void worker_main(int thread);
  uint64_t wait_for_job(uint64_t seen);
  bool try_join(uint32_t gen);
  void run_chunks(int thread);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // serializes calls from different outside threads

  // The current job. Written by the caller before it opens the job in state_
  // (release); a worker reads them only after joining the job (acquire), and
  // the caller waits for joined workers to leave before the next job.
  const RangeFn* job_fn_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 1;
  alignas(64) std::atomic<int64_t> next_{0};  // next unclaimed index
  // Job gate: generation (high 32 bits) | closed flag (bit 31) | workers joined.
  // A worker that wakes late finds the job closed and never touches it, so
  // the caller never waits for a descheduled thread that has no work.
  alignas(64) std::atomic<uint64_t> state_{0};
  // Wake-up signal: bumped for each job and at shutdown.
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};  // workers blocked in generation_.wait
  std::atomic<bool> stop_{false};

  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace loom
