// Turning the common KV keys into CudaModelOptions (pure arithmetic, unit-
// tested without a device). Block counts exclude the graph padding block,
// which the budget also pays for: blocks = budget / bytes_per_block - 1.
//
// Device (nvcc build): the keys pass through to CudaModelOptions and
// CudaModel's memory plan (backends/cuda/memory_plan.h) decides once the
// weights are uploaded and the free device memory is known:
//   kv_cache_bytes only     -> that budget (more than is free: resource_exhausted)
//   both                    -> min(kv_cache_fraction * free, kv_cache_bytes)
//   kv_cache_fraction only  -> fraction of the memory left after weights,
//                              workspace and graph reserve
//   neither                 -> the same with fraction 0.9
//   Checked here already: a kv_cache_bytes that cannot hold one max_context
//   sequence even on its own (fails before the model is read).
// Emulation (SIMT build: "device" memory is host memory, filled with 0xFF):
//   free    = min(emulated device memory (16 GiB), MemAvailable / 2) - weight bytes
//   budget  = min over the keys given of (kv_cache_bytes, fraction * free);
//             neither: min(256 MiB, 0.9 * free), so a default start allocates
//             no more than 256 MiB of host memory
//   kv_cache_bytes above `free` is resource_exhausted.
//   The budget becomes an exact block count (kv_blocks).
// Either way blocks are capped at max_num_seqs full contexts, and fewer
// blocks than one max_context sequence is resource_exhausted with the numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "backends/common/model/model_config.h"

namespace loom::cuda_plugin {


inline constexpr int64_t kEmulatedDefaultKvBytes = int64_t{256} << 20;

struct KvPlanInput {
  std::optional<double> fraction;
  std::optional<int64_t> bytes;
  bool emulated = false;
  int64_t device_memory = 0;   // emulated: the emulated device's total (16 GiB)
  int64_t mem_available = 0;   // emulated: host MemAvailable, bytes
  int64_t weight_bytes = 0;    // the model file's size (the uploaded weights are about that)
  size_t bytes_per_block = 0;  // all layers, K and V (CudaForward::kv_bytes_per_block)
  int32_t block_size = 16;
  int32_t max_context = 0;     // tokens per sequence, already capped by the model
  int32_t max_num_seqs = 1;
};

struct KvPlan {
  int32_t kv_blocks = 0;            // > 0 (emulated): CudaModelOptions::kv_blocks; 0: CudaModel plans
  std::optional<double> fraction;   // device: CudaModelOptions::kv_cache_fraction (the key as given)
  int64_t bytes = 0;                // device: CudaModelOptions::kv_cache_bytes (0: not given)
  int64_t budget_bytes = 0;         // emulated: the budget; device: 0 (CudaModel decides)
  bool capped = false;              // emulated: blocks limited to max_num_seqs full contexts
  std::string source;           // "kv_cache_bytes", "emulated default: ...", ...
};

KvPlan plan_kv(const KvPlanInput& in);

}  // namespace loom::cuda_plugin
