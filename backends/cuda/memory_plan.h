// How device memory is split at start-up (pure arithmetic, unit-tested
// without a device):
//   fixed     = weights + activation workspace + step metadata (allocated first)
//   available = free after `fixed` - graph_reserve (CUDA graphs, cuBLAS workspace)
//   budget    = over the keys given (plugin_api/ABI.md):
//                 kv_cache_bytes only      -> kv_cache_bytes (more than `available`: error)
//                 both                     -> min(kv_cache_fraction * available, kv_cache_bytes)
//                 fraction only / neither  -> kv_cache_fraction (0.9) * available
//   blocks    = budget / bytes_per_block - 1, at most max_num_seqs full contexts;
//               kv_blocks > 0 overrides both keys (must still fit `available`)
// One extra "padding" block is allocated beyond `blocks` (paid from the budget):
// the rows that pad a CUDA-graph decode batch write their K/V there (the
// scheduler never sees it). A budget that cannot work (below one max_context
// sequence, or more than is free) is a KvBudgetError with the numbers; bad
// inputs (fraction outside (0, 1], negative bytes) are plain ModelErrors.
// bytes_per_block depends on the KV dtype (kv_cache_bytes_per_block): the int8
// cache (per-token fp32 scales) holds ~1.9x the tokens of fp16 at head_dim 64.
//
// Window pool (models with sliding-window layers, scheduler/README.md): given
// window_blocks (the scheduler's minimum), the same byte budget is split as
// the CPU backend splits it (split_kv_for_window, kv_budget.h): window_blocks
// blocks of the sliding layers' KV, the rest full-attention blocks, each pool
// with its own padding block. The split is taken only when it holds more
// full blocks than one pool (or as many in fewer bytes); with kv_blocks given
// it re-divides the bytes of kv_blocks one-pool blocks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "backends/common/model/model_config.h"

namespace loom::cuda_backend {

// The KV budget cannot be met on this device (callers map it to "resource
// exhausted", unlike the ModelErrors of bad inputs).
struct KvBudgetError : ModelError {
  using ModelError::ModelError;
};

struct MemoryPlanInput {
  int64_t total = 0;           // device memory
  int64_t free_after_fixed = 0;  // free once weights and workspace are allocated
  int64_t weight_bytes = 0;
  int64_t workspace_bytes = 0;
  int64_t graph_reserve = 0;
  std::optional<double> kv_cache_fraction;  // nullopt: not given (0.9 unless kv_cache_bytes is)
  int64_t kv_cache_bytes = 0;               // > 0: KV budget in bytes; 0: not given
  int32_t kv_blocks = 0;  // > 0: exactly this many blocks (overrides both keys)
  size_t bytes_per_block = 0;  // all layers, K and V (kv_cache_bytes_per_block)
  // The sliding-window layers' share of bytes_per_block, and the window pool
  // the scheduler needs (sched::SchedulerConfig::min_window_blocks()); 0: no window pool.
  size_t window_bytes_per_block = 0;
  int32_t window_blocks = 0;
  bool kv_int8 = false;        // only named in the report
  int32_t block_size = 16;
  int32_t max_context = 0;
  int32_t max_num_seqs = 1;
};

struct MemoryPlan {
  int32_t blocks = 0;      // usable by the scheduler (the full-attention layers' with a window pool)
  int32_t window_blocks = 0;  // the sliding layers' pool, usable (+1 padding block); 0: none
  int64_t kv_bytes = 0;    // one pool: (blocks + 1 padding block) * bytes_per_block
  int64_t available = 0;   // what the KV cache could take
  int64_t budget = 0;      // the KV budget in bytes (the kv_blocks path: kv_bytes)
  bool capped = false;     // blocks limited to max_num_seqs full contexts
  std::string report;      // one line per item, bytes
};

// Throws KvBudgetError when the numbers cannot work, ModelError on bad inputs.
MemoryPlan plan_memory(const MemoryPlanInput& in);

// Bytes of one KV block over all layers, K and V:
//   fp16: n_layers * 2 * block_size * n_kv_heads * head_dim * 2
//   int8: n_layers * 2 * block_size * n_kv_heads * (head_dim + 4)   (data + fp32 scale)
size_t kv_cache_bytes_per_block(int32_t n_layers, int32_t n_kv_heads, int32_t head_dim,
                                int32_t block_size, bool kv_int8);

}  // namespace loom::cuda_backend
