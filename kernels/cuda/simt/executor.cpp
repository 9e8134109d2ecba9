// Fiber-per-thread block executor. See executor.h and README.md.
#include "kernels/cuda/simt/executor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

namespace loom::simt {

namespace ctx = boost::context;
thread_local Builtins g_builtins;

namespace {

// ---- fiber stacks: mmap'd with a guard page, pooled across blocks ---------

size_t stack_bytes() {
  static const size_t bytes = [] {
    const char* env = std::getenv("LOOM_SIMT_STACK_KB");
    size_t kb = env ? std::strtoul(env, nullptr, 10) : 0;
    return (kb >= 16 ? kb : 64) * 1024;
  }();
  return bytes;
}

class StackPool {
 public:
  ~StackPool() {
    for (void* base : free_) munmap(base, stack_bytes() + page());
  }
  ctx::stack_context allocate() {
    void* base;
    if (!free_.empty()) {
      base = free_.back();
      free_.pop_back();
    } else {
      base = mmap(nullptr, stack_bytes() + page(), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (base == MAP_FAILED) throw std::bad_alloc();
      mprotect(base, page(), PROT_NONE);  // overflow faults instead of corrupting
    }
    ctx::stack_context sc;
    sc.size = stack_bytes();
    sc.sp = static_cast<char*>(base) + page() + stack_bytes();
    return sc;
  }
  void deallocate(ctx::stack_context& sc) {
    free_.push_back(static_cast<char*>(sc.sp) - stack_bytes() - page());
  }

 private:
  static size_t page() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }
  std::vector<void*> free_;
};

thread_local StackPool g_stacks;

struct PooledStack {
  ctx::stack_context allocate() { return g_stacks.allocate(); }
  void deallocate(ctx::stack_context& sc) noexcept { g_stacks.deallocate(sc); }
};

// ---- block state -----------------------------------------------------------

enum class State { kReady, kBarrier, kWarp, kDone };

struct AsyncCopy {
  void* dst;
  const void* src;
  size_t bytes;
};

struct Thread {
  ctx::fiber fiber;
  ctx::fiber* sink = nullptr;  // the executor, to switch back to
  State state = State::kReady;
  uint3 idx{};
  unsigned linear = 0;
  std::vector<AsyncCopy> uncommitted;
  std::deque<std::vector<AsyncCopy>> async_groups;
};

struct PendingCollective {
  const char* name;
  Combine combine;
  unsigned mask;
  unsigned arrived = 0;
  std::source_location loc;
  LaneInputs in;
  void* out[32] = {};
};

struct SharedAlloc {
  const void* key;
  std::unique_ptr<unsigned char[]> storage;
  unsigned char* data;
  size_t bytes;
};

// Dynamic shared memory is followed by a guard region filled with a canary:
// a write past the launch's smem_bytes (up to the guard size) is reported
// when the block ends instead of corrupting the heap.
constexpr unsigned char kCanary = 0xA5;
constexpr size_t kCanaryBytes = 32 * 1024;

struct Block {
  const Launch* launch;
  uint3 idx{};
  std::vector<Thread> threads;
  unsigned done = 0;
  unsigned barrier_arrived = 0;
  std::source_location barrier_loc;
  std::vector<std::vector<PendingCollective>> warps;  // [warp] pending ops
  std::vector<SharedAlloc> shared;
  SharedAlloc dynamic;
  std::exception_ptr error;
};

thread_local Block* g_block = nullptr;
thread_local Thread* g_thread = nullptr;
thread_local Schedule g_schedule = Schedule::kForward;
thread_local std::mt19937_64 g_rng;

std::string where(std::source_location loc) {
  std::ostringstream s;
  const char* file = loc.file_name();
  const char* slash = std::strrchr(file, '/');
  s << (slash ? slash + 1 : file) << ":" << loc.line();
  return s.str();
}

std::string describe(const uint3& v) {
  std::ostringstream s;
  s << "(" << v.x << "," << v.y << "," << v.z << ")";
  return s.str();
}

std::string thread_name(const Block& b, const Thread& t) {
  return "thread " + describe(t.idx) + " of block " + describe(b.idx);
}

Block& block() {
  if (!g_block) throw SimtError("CUDA device function called outside a kernel launch");
  return *g_block;
}

void yield_to_executor() {
  Thread& t = *g_thread;
  *t.sink = std::move(*t.sink).resume();
}

unsigned warp_lanes(const Block& b, unsigned warp) {
  unsigned n = static_cast<unsigned>(b.threads.size()) - warp * 32;
  return n >= 32 ? 0xffffffffu : ((1u << n) - 1u);
}

void complete_async(Thread& t) {
  for (auto& group : t.async_groups)
    for (auto& c : group) std::memcpy(c.dst, c.src, c.bytes);
  t.async_groups.clear();
  for (auto& c : t.uncommitted) std::memcpy(c.dst, c.src, c.bytes);
  t.uncommitted.clear();
}

// Called when a thread returns from the kernel: nobody may be left waiting on it.
void check_exit(Block& b, Thread& t) {
  complete_async(t);
  if (b.barrier_arrived > 0)
    throw SimtError(thread_name(b, t) + " exited while " + std::to_string(b.barrier_arrived) +
                    " threads wait at __syncthreads (" + where(b.barrier_loc) +
                    "): a barrier must be reached by every thread of the block");
  unsigned lane = t.linear % 32;
  for (auto& op : b.warps[t.linear / 32])
    if (op.mask & (1u << lane)) {
      std::ostringstream s;
      s << thread_name(b, t) << " (lane " << lane << ") exited while lanes of mask 0x" << std::hex
        << op.mask << " wait in " << op.name << " (" << where(op.loc) << ")";
      throw SimtError(s.str());
    }
}

void resume(Block& b, Thread& t) {
  g_thread = &t;
  g_builtins.thread_idx = t.idx;
  t.fiber = std::move(t.fiber).resume();
  g_thread = nullptr;
}

void start_thread(Block& b, Thread& t) {
  t.fiber = ctx::fiber(std::allocator_arg, PooledStack{}, [&b, &t](ctx::fiber&& sink) {
    t.sink = &sink;
    try {
      b.launch->body();
      t.state = State::kDone;
      ++b.done;
      check_exit(b, t);
    } catch (const ctx::detail::forced_unwind&) {
      throw;
    } catch (...) {
      t.state = State::kDone;
      if (!b.error) b.error = std::current_exception();
    }
    return std::move(sink);
  });
}

[[noreturn]] void report_deadlock(Block& b) {
  std::ostringstream s;
  s << "deadlock in block " << describe(b.idx) << ": ";
  if (b.barrier_arrived > 0)
    s << b.barrier_arrived << " of " << b.threads.size() << " threads wait at __syncthreads ("
      << where(b.barrier_loc) << "); ";
  for (size_t w = 0; w < b.warps.size(); ++w)
    for (auto& op : b.warps[w])
      s << "warp " << w << " lanes 0x" << std::hex << op.arrived << " of mask 0x" << op.mask
        << std::dec << " wait in " << op.name << " (" << where(op.loc) << "); ";
  s << b.done << " threads exited";
  throw SimtError(s.str());
}

std::vector<unsigned> resume_order(size_t n) {
  std::vector<unsigned> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<unsigned>(i);
  if (g_schedule == Schedule::kReverse) std::reverse(order.begin(), order.end());
  if (g_schedule == Schedule::kShuffled) std::shuffle(order.begin(), order.end(), g_rng);
  return order;
}

void run_block(Block& b) {
  std::vector<unsigned> order = resume_order(b.threads.size());
  for (unsigned i : order) start_thread(b, b.threads[i]);
  while (b.done < b.threads.size()) {
    bool progressed = false;
    for (unsigned i : order) {
      Thread& t = b.threads[i];
      if (t.state != State::kReady) continue;
      resume(b, t);
      progressed = true;
      if (b.error) std::rethrow_exception(b.error);
    }
    if (!progressed) report_deadlock(b);
    if (g_schedule == Schedule::kShuffled) order = resume_order(b.threads.size());
  }
}

void check_canary(const Block& b) {
  const SharedAlloc& d = b.dynamic;
  for (size_t i = 0; i < kCanaryBytes; ++i)
    if (d.data[d.bytes + i] != kCanary)
      throw SimtError("block " + describe(b.idx) + " wrote past its dynamic shared memory (" +
                      std::to_string(d.bytes) + " bytes given at launch)");
}

void init_block(Block& b, const Launch& launch, uint3 idx) {
  b.launch = &launch;
  b.idx = idx;
  const dim3 bd = launch.block;
  const unsigned n = bd.x * bd.y * bd.z;
  b.threads.resize(n);
  for (unsigned i = 0; i < n; ++i) {
    b.threads[i].linear = i;
    b.threads[i].idx = uint3{i % bd.x, (i / bd.x) % bd.y, i / (bd.x * bd.y)};
  }
  b.warps.resize((n + 31) / 32);
  b.dynamic.bytes = launch.dynamic_smem_bytes;
  thread_local std::vector<unsigned char> buffer;  // reused across blocks
  buffer.resize(b.dynamic.bytes + kCanaryBytes + 128);
  auto addr = reinterpret_cast<uintptr_t>(buffer.data());
  b.dynamic.data = buffer.data() + ((128 - addr % 128) % 128);
  std::memset(b.dynamic.data, 0xFF, b.dynamic.bytes);
  std::memset(b.dynamic.data + b.dynamic.bytes, kCanary, kCanaryBytes);
}

}  // namespace

void set_schedule(Schedule s, uint64_t seed) {
  g_schedule = s;
  g_rng.seed(seed);
}
Schedule schedule() { return g_schedule; }

void run_grid(const Launch& launch) {
  if (g_block) throw SimtError("kernel launched from inside a kernel (dynamic parallelism)");
  g_builtins.block_dim = launch.block;
  g_builtins.grid_dim = launch.grid;
  for (unsigned z = 0; z < launch.grid.z; ++z)
    for (unsigned y = 0; y < launch.grid.y; ++y)
      for (unsigned x = 0; x < launch.grid.x; ++x) {
        Block b;
        init_block(b, launch, uint3{x, y, z});
        g_builtins.block_idx = b.idx;
        g_block = &b;
        try {
          run_block(b);
          check_canary(b);
        } catch (...) {
          b.threads.clear();  // unwinds suspended fibers while g_block is valid
          g_block = nullptr;
          throw;
        }
        g_block = nullptr;
      }
}

[[noreturn]] void fail(std::source_location loc, const std::string& what) {
  std::string who = g_block && g_thread ? " in " + thread_name(*g_block, *g_thread) : "";
  throw SimtError(where(loc) + who + ": " + what);
}

void syncthreads(std::source_location loc) {
  Block& b = block();
  Thread& t = *g_thread;
  if (b.barrier_arrived == 0) {
    b.barrier_loc = loc;
  } else if (b.barrier_loc.line() != loc.line() ||
             std::strcmp(b.barrier_loc.file_name(), loc.file_name()) != 0) {
    fail(loc, "divergent __syncthreads: others wait at " + where(b.barrier_loc));
  }
  if (b.done > 0)
    fail(loc, "__syncthreads after " + std::to_string(b.done) +
                  " threads of the block exited: it can never be reached by all");
  if (++b.barrier_arrived == b.threads.size()) {
    b.barrier_arrived = 0;
    for (auto& other : b.threads)
      if (other.state == State::kBarrier) other.state = State::kReady;
    return;
  }
  t.state = State::kBarrier;
  yield_to_executor();
}

void* block_shared(const void* key, size_t bytes, size_t align) {
  Block& b = block();
  for (auto& a : b.shared)
    if (a.key == key) return a.data;
  SharedAlloc a{key, std::unique_ptr<unsigned char[]>(new unsigned char[bytes + align]), nullptr,
                bytes};
  auto addr = reinterpret_cast<uintptr_t>(a.storage.get());
  a.data = a.storage.get() + ((align - addr % align) % align);
  std::memset(a.data, 0xFF, bytes);
  b.shared.push_back(std::move(a));
  return b.shared.back().data;
}

void* dynamic_smem() { return block().dynamic.data; }

bool in_shared(const void* p, size_t bytes) {
  Block& b = block();
  auto inside = [&](const SharedAlloc& a) {
    auto q = static_cast<const unsigned char*>(p);
    return q >= a.data && q + bytes <= a.data + a.bytes;
  };
  if (inside(b.dynamic)) return true;
  return std::any_of(b.shared.begin(), b.shared.end(), inside);
}

unsigned lane_id() { return g_thread->linear % 32; }

void warp_collective(const char* name, unsigned mask, const void* in, size_t in_bytes, void* out,
                     Combine combine, std::source_location loc) {
  Block& b = block();
  Thread& t = *g_thread;
  const unsigned lane = t.linear % 32, warp = t.linear / 32, bit = 1u << lane;
  auto hex = [](unsigned v) {
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
  };
  if (!(mask & bit)) fail(loc, std::string(name) + ": calling lane " + std::to_string(lane) +
                                   " is not in mask " + hex(mask));
  if (mask & ~warp_lanes(b, warp))
    fail(loc, std::string(name) + ": mask " + hex(mask) + " names lanes that do not exist in warp " +
                  std::to_string(warp) + " (block of " + std::to_string(b.threads.size()) +
                  " threads)");
  auto& pending = b.warps[warp];
  PendingCollective* op = nullptr;
  for (auto& p : pending) {
    if (p.mask == mask) op = &p;
    else if (p.mask & mask)
      fail(loc, std::string(name) + " with mask " + hex(mask) + " overlaps " + p.name + " (" +
                    where(p.loc) + ") with mask " + hex(p.mask));
  }
  if (!op) {
    pending.push_back(PendingCollective{name, combine, mask, 0, loc, {}, {}});
    op = &pending.back();
  } else if (op->combine != combine) {
    fail(loc, std::string(name) + ": lanes of mask " + hex(mask) + " wait in " + op->name + " (" +
                  where(op->loc) + ") instead");
  }
  std::memcpy(op->in.bytes[lane], in, in_bytes);
  op->out[lane] = out;
  op->arrived |= bit;
  if (op->arrived != mask) {
    t.state = State::kWarp;
    yield_to_executor();
    return;
  }
  PendingCollective done = std::move(*op);
  pending.erase(pending.begin() + (op - pending.data()));
  done.combine(mask, done.in, done.out, done.name, done.loc);
  for (unsigned l = 0; l < 32; ++l)
    if ((mask >> l) & 1u) b.threads[warp * 32 + l].state = State::kReady;
}

void cp_async(void* dst, const void* src, size_t bytes, std::source_location loc) {
  block();
  if (!in_shared(dst, bytes)) fail(loc, "cp.async destination is not inside shared memory");
  if (in_shared(src, bytes)) fail(loc, "cp.async source must be global memory, not shared");
  if (reinterpret_cast<uintptr_t>(dst) % bytes || reinterpret_cast<uintptr_t>(src) % bytes)
    fail(loc, "cp.async addresses must be aligned to the copy size");
  g_thread->uncommitted.push_back(AsyncCopy{dst, src, bytes});
}

void cp_async_commit() {
  Thread& t = *g_thread;
  t.async_groups.push_back(std::move(t.uncommitted));
  t.uncommitted.clear();
}

void cp_async_wait(int allowed) {
  Thread& t = *g_thread;
  while (t.async_groups.size() > static_cast<size_t>(std::max(allowed, 0))) {
    for (auto& c : t.async_groups.front()) std::memcpy(c.dst, c.src, c.bytes);
    t.async_groups.pop_front();
  }
}

}  // namespace loom::simt
