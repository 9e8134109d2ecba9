#include "backends/cuda/plugin/kv_plan.h"

#include <algorithm>
#include <limits>

#include "backends/common/plugin/errors.h"

namespace loom::cuda_plugin {
namespace {

[[noreturn]] void exhausted(const std::string& message) {
  throw plugin::PluginError(LOOM_ERR_RESOURCE_EXHAUSTED, message);
}

// The emulated "device": host memory, so at most half of what the host has free.
int64_t emulated_free(const KvPlanInput& in) {
  const int64_t device = std::min(in.device_memory, in.mem_available / 2);
  return std::max<int64_t>(0, device - in.weight_bytes);
}

// The budget in bytes and where it came from, for the emulated build.
KvPlan emulated_budget(const KvPlanInput& in) {
  const int64_t free = emulated_free(in);
  KvPlan p;
  if (in.bytes && *in.bytes > free)
    exhausted("kv_cache_bytes " + std::to_string(*in.bytes) + " exceeds the " + std::to_string(free) +
              " bytes the emulated device has free (min(16 GiB, MemAvailable / 2) minus the weights)");
  p.budget_bytes = std::numeric_limits<int64_t>::max();
  if (in.fraction) {
    p.budget_bytes = static_cast<int64_t>(*in.fraction * static_cast<double>(free));
    p.source = "kv_cache_fraction " + std::to_string(*in.fraction) + " of " + std::to_string(free) +
               " emulated free bytes";
  }
  if (in.bytes && *in.bytes < p.budget_bytes) {
    p.budget_bytes = *in.bytes;
    p.source = "kv_cache_bytes";
  }
  if (!in.fraction && !in.bytes) {
    p.budget_bytes = std::min(kEmulatedDefaultKvBytes, static_cast<int64_t>(0.9 * static_cast<double>(free)));
    p.source = "emulated default: min(256 MiB, 0.9 of " + std::to_string(free) + " free bytes)";
  }
  return p;
}

// Blocks of `budget` (minus the padding block), capped at max_num_seqs full
// contexts; fewer than one max_context sequence is resource_exhausted.
int32_t blocks_for(const KvPlanInput& in, int64_t budget, const std::string& source, bool* capped) {
  const auto bpb = static_cast<int64_t>(in.bytes_per_block);
  const int64_t per_seq = (in.max_context + in.block_size - 1) / in.block_size;
  const int64_t fits = budget / bpb - 1;  // one block is the graph padding block
  if (fits < per_seq)
    exhausted("KV budget of " + std::to_string(budget) + " bytes (" + source + ") holds " +
              std::to_string(std::max<int64_t>(fits, 0)) + " blocks of " + std::to_string(bpb) +
              " bytes (+1 padding block), but one sequence of " + std::to_string(in.max_context) +
              " tokens needs " + std::to_string(per_seq) + " blocks: raise kv_cache_bytes / " +
              "kv_cache_fraction or lower max_context");
  const int64_t cap = std::min<int64_t>(per_seq * in.max_num_seqs, std::numeric_limits<int32_t>::max() - 1);
  *capped = fits > cap;
  return static_cast<int32_t>(std::min(fits, cap));
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
  bool capped = false;  // kv_cache_bytes is the budget's upper bound: too small alone is too small
  (void)blocks_for(in, *in.bytes, "kv_cache_bytes", &capped);
  p.source = in.fraction ? "min(" + fraction + ", kv_cache_bytes " + std::to_string(*in.bytes) + ")"
                         : "kv_cache_bytes";
  return p;
}

}  // namespace

KvPlan plan_kv(const KvPlanInput& in) {
  if (in.bytes_per_block == 0 || in.block_size <= 0 || in.max_context <= 0 || in.max_num_seqs <= 0)
    throw plugin::PluginError(LOOM_ERR_INTERNAL, "plan_kv: empty model geometry");
  if (!in.emulated) return device_plan(in);
  KvPlan p = emulated_budget(in);
  p.kv_blocks = blocks_for(in, p.budget_bytes, p.source, &p.capped);
  return p;
}

}  // namespace loom::cuda_plugin
