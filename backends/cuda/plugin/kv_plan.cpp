#include "backends/cuda/plugin/kv_plan.h"

#include <algorithm>
#include <limits>

#include "backends/common/model/kv_budget.h"
#include "backends/common/plugin/errors.h"

namespace loom::cuda_plugin {
namespace {

[[noreturn]] void exhausted(const std::string& message) {
  throw plugin::PluginError(LOOM_ERR_RESOURCE_EXHAUSTED, message);
}

// The emulated "device" is host memory, so at most half of what the host has
// free; its budget is sized by the common KV arithmetic like the CPU's, with
// the graph padding block paid from it.
KvBudgetInput budget_input(const KvPlanInput& in) {
  KvBudgetInput b;
  b.fraction = in.fraction;
  b.bytes = in.bytes;
  b.mem_available = std::min(in.device_memory, in.mem_available / 2);
  b.weight_bytes = in.weight_bytes;
  b.bytes_per_block = in.bytes_per_block;
  b.block_size = in.block_size;
  b.max_context = in.max_context;
  b.max_num_seqs = in.max_num_seqs;
  b.reserved_blocks = 1;
  const int64_t free = std::max<int64_t>(0, b.mem_available - in.weight_bytes);
  b.bytes_limit = free;
  b.limit_name = "the emulated device has free (min(16 GiB, MemAvailable / 2) minus the weights)";
  b.default_bytes = std::min(kEmulatedDefaultKvBytes, static_cast<int64_t>(0.9 * static_cast<double>(free)));
  b.default_source = "emulated default: min(256 MiB, 0.9 of " + std::to_string(free) + " free bytes)";
  return b;
}

// KvBudgetError -> the C ABI's resource_exhausted.
KvBudget plan_or_exhausted(const KvBudgetInput& in) {
  try {
    return plan_kv_cache(in);
  } catch (const KvBudgetError& e) {
    exhausted(e.what());
  }
}

// The device: the keys pass through to CudaModel, which knows the free memory.
KvPlan device_plan(const KvPlanInput& in) {
  KvPlan p;
  p.fraction = in.fraction;
  p.bytes = in.bytes.value_or(0);
  const std::string fraction = "kv_cache_fraction " + std::to_string(in.fraction.value_or(0.9)) +
                               " of the free device memory";
  if (!in.bytes) {
    p.source = fraction;
    return p;
  }
  // kv_cache_bytes is the budget's upper bound: too small alone is too small.
  KvBudgetInput alone = budget_input(in);
  alone.fraction.reset();
  alone.bytes_limit = std::numeric_limits<int64_t>::max();
  (void)plan_or_exhausted(alone);
  p.source = in.fraction ? "min(" + fraction + ", kv_cache_bytes " + std::to_string(*in.bytes) + ")"
                         : "kv_cache_bytes";
  return p;
}

}  // namespace

KvPlan plan_kv(const KvPlanInput& in) {
  if (in.bytes_per_block == 0 || in.block_size <= 0 || in.max_context <= 0 || in.max_num_seqs <= 0)
    throw plugin::PluginError(LOOM_ERR_INTERNAL, "plan_kv: empty model geometry");
  if (!in.emulated) return device_plan(in);
  const KvBudget b = plan_or_exhausted(budget_input(in));
  KvPlan p;
  p.budget_bytes = b.budget_bytes;
  p.source = b.source;
  p.kv_blocks = b.blocks;
  p.capped = b.capped;
  return p;
}

}  // namespace loom::cuda_plugin
