// Sizing a KV cache from the configured budget: the one function every
// backend uses (pure arithmetic, so the rules are unit-tested without a model):
//   free    = memory - weight bytes   (CPU: MemAvailable; the emulated CUDA
//             device: min(16 GiB, MemAvailable / 2))
//   budget  = min(kv_cache_fraction * free, kv_cache_bytes) over the keys given;
//             neither key: default_bytes (CPU: 0.5 * free)
//   blocks  = budget / bytes_per_block - reserved_blocks, at most max_num_seqs
//             full contexts
// A budget that cannot hold one sequence of max_context tokens, or
// kv_cache_bytes past bytes_limit, is a KvBudgetError (resource_exhausted)
// with the numbers. (A real CUDA device sizes its cache once the weights are
// uploaded: backends/cuda/memory_plan.h.)
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace loom {

// A budget that cannot work (the C ABI reports it as resource_exhausted).
struct KvBudgetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct KvBudgetInput {
  std::optional<double> fraction;
  std::optional<int64_t> bytes;
  int64_t mem_available = 0;  // bytes (MemAvailable)
  int64_t weight_bytes = 0;
  size_t bytes_per_block = 0;
  int32_t block_size = 16;
  int32_t max_context = 0;    // tokens per sequence, already capped by the model
  int32_t max_num_seqs = 1;
  // Beyond the CPU's rules (defaults: unset).
  std::optional<int64_t> bytes_limit;   // kv_cache_bytes above it is refused; unset: mem_available
  std::string limit_name;               // what bytes_limit is, for that message; unset: "MemAvailable"
  std::optional<int64_t> default_bytes; // the budget with neither key; unset: 0.5 * free
  std::string default_source;           // its description, for stats and messages
  int32_t reserved_blocks = 0;          // paid from the budget, not KV (the CUDA graph padding block)
};

struct KvBudget {
  int64_t budget_bytes = 0;  // what the keys allowed
  int32_t blocks = 0;        // what is allocated
  int64_t kv_bytes = 0;      // blocks * bytes_per_block
  std::string source;        // "kv_cache_bytes", "kv_cache_fraction 0.2 of free memory", ...
  bool capped = false;       // blocks limited to max_num_seqs full contexts
};

KvBudget plan_kv_cache(const KvBudgetInput& in);

// The same budget split between two pools (models with sliding-window layers;
// scheduler/README.md, "window pool"): window_blocks blocks of the sliding
// layers' KV (the scheduler's minimum), the rest for the other layers'.
struct KvWindowSplitInput {
  KvBudget plain;                 // plan_kv_cache's one-pool plan (every layer per block)
  size_t bytes_per_block = 0;     // every layer (plain's block)
  size_t window_bytes_per_block = 0;  // the sliding layers' share of it
  int32_t window_blocks = 0;      // sched::SchedulerConfig::min_window_blocks()
  int32_t max_blocks = 0;         // max_num_seqs full contexts (plain's cap)
};
struct KvWindowSplit {
  bool use = false;        // the split holds at least as many contexts in no more bytes
  int32_t blocks = 0;      // the full-attention layers' pool
  int32_t window_blocks = 0;
  int64_t kv_bytes = 0;
};
// use is false when the split would not pay: fewer full blocks than the
// plain plan, or as many in more bytes (small budgets, where max_num_seqs
// windows cost more than they save).
KvWindowSplit split_kv_for_window(const KvWindowSplitInput& in);

// MemAvailable from /proc/meminfo in bytes (0 when unreadable).
int64_t mem_available_bytes(const char* meminfo_path = "/proc/meminfo");

}  // namespace loom
