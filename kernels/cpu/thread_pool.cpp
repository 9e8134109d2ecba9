#include "kernels/cpu/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "kernels/cpu/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LOOM_CPU_RELAX() _mm_pause()
#else
#define LOOM_CPU_RELAX() ((void)0)
#endif

namespace loom {
namespace {

// How long an idle worker spins before sleeping: long enough to cover the
// gap between two ops of a decode step, short enough not to hog a core.
constexpr auto kSpinBudget = std::chrono::microseconds(200);

constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kJoinedMask = kClosed - 1;

// Which pool (if any) the current thread is running a callback for, and as
// which thread index: nested calls run inline with that index.
thread_local const ThreadPool* tl_pool = nullptr;
thread_local int tl_thread = 0;

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads < 0) throw KernelError("ThreadPool: negative thread count");
  if (n_threads == 0) n_threads = std::max(1u, std::thread::hardware_concurrency());
  workers_.reserve(n_threads - 1);
  for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(call_mutex_);  // wait for a call in flight
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    generation_.notify_all();
  }
  for (auto& w : workers_) w.join();
}

void ThreadPool::parallel_for(int64_t n, RangeFn fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (tl_pool == this) return fn(0, n, tl_thread);  // nested: inline

  std::lock_guard lock(call_mutex_);
  if (workers_.empty() || n <= grain) return fn(0, n, 0);
  // ~4 chunks per thread balances load when a core is briefly busy elsewhere.
  const int64_t per = (n + 4 * size() - 1) / (4 * size());
  job_fn_ = &fn;
  job_n_ = n;
  job_chunk_ = std::max(grain, per);
  error_ = nullptr;
  next_.store(0, std::memory_order_relaxed);
  const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
  state_.store((gen & 0xFFFFFFFFu) << 32, std::memory_order_release);  // open, nobody joined
  generation_.store(gen, std::memory_order_seq_cst);
  // Pairs with the sleeper's increment-then-recheck: either it sees the new
  // generation or we see it counted and wake it.
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();

  tl_pool = this;
  tl_thread = 0;
  run_chunks(0);
  tl_pool = nullptr;

  // Every index is claimed: close the gate, then wait for the workers that
  // joined (they are running, so this is short).
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  for (int spins = 0; (state_.load(std::memory_order_acquire) & kJoinedMask) != 0; ++spins) {
    if (spins < 4096) {
      LOOM_CPU_RELAX();
    } else {
      std::this_thread::yield();  // a joined worker was preempted: let it run
    }
  }
  job_fn_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

bool ThreadPool::try_join(uint32_t gen) {
  uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((s >> 32) != gen || (s & kClosed)) return false;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire))
      return true;
  }
}

void ThreadPool::run_chunks(int thread) {
  for (;;) {
    const int64_t begin = next_.fetch_add(job_chunk_, std::memory_order_relaxed);
    if (begin >= job_n_) return;
    try {
      (*job_fn_)(begin, std::min(begin + job_chunk_, job_n_), thread);
    } catch (...) {
      std::lock_guard lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(job_n_, std::memory_order_relaxed);  // skip the rest
      return;
    }
  }
}

uint64_t ThreadPool::wait_for_job(uint64_t seen) {
  const auto start = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    const uint64_t gen = generation_.load(std::memory_order_acquire);
    if (gen != seen) return gen;
    LOOM_CPU_RELAX();
    if ((spins & 63) == 63 && std::chrono::steady_clock::now() - start > kSpinBudget) break;
  }
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  uint64_t gen;
  while ((gen = generation_.load(std::memory_order_seq_cst)) == seen)
    generation_.wait(seen, std::memory_order_seq_cst);
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
  return gen;
}

void ThreadPool::worker_main(int thread) {
  tl_pool = this;
  tl_thread = thread;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_job(seen);
    if (stop_.load(std::memory_order_relaxed)) return;
    if (!try_join(static_cast<uint32_t>(seen))) continue;  // woke too late
    run_chunks(thread);
    state_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace loom
