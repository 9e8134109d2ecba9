#include "backends/cuda/memory_plan.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "backends/common/model/kv_budget.h"
#include "backends/common/model/model_config.h"
#include "kernels/cuda/attention/kv_cache_format.cuh"

namespace loom::cuda_backend {
namespace {

std::string mib(int64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld B (%.1f MiB)", static_cast<long long>(bytes),
                static_cast<double>(bytes) / (1 << 20));
  return buf;
}

struct Budget {
  int64_t bytes = 0;
  std::string source;  // which key decided, for the report and the errors
};

// The budget over the keys given (memory_plan.h); `numbers` goes into the error.
Budget kv_budget(const MemoryPlanInput& in, int64_t available, const std::string& numbers) {
  const double fraction = in.kv_cache_fraction.value_or(0.9);
  const auto by_fraction = static_cast<int64_t>(fraction * static_cast<double>(available));
  const std::string fraction_source = "kv_cache_fraction " + std::to_string(fraction) + " of " + mib(available);
  if (in.kv_cache_bytes == 0) return {by_fraction, fraction_source};
  const std::string bytes_source = "kv_cache_bytes " + std::to_string(in.kv_cache_bytes);
  if (!in.kv_cache_fraction) {
    if (in.kv_cache_bytes > available)
      throw KvBudgetError("KV cache budget kv_cache_bytes " + mib(in.kv_cache_bytes) + " exceeds the " +
                          mib(available) + " free for KV (" + numbers + ")");
    return {in.kv_cache_bytes, bytes_source};
  }
  if (in.kv_cache_bytes <= by_fraction) return {in.kv_cache_bytes, bytes_source + " (< " + fraction_source + ")"};
  return {by_fraction, fraction_source + " (< " + bytes_source + ")"};
}

// The window pool split of the plan's byte budget (memory_plan.h). Both pools
// get a padding block, whose bytes together are one whole block's; they are
// paid first, so split_kv_for_window compares usable blocks only.
void split_for_window(const MemoryPlanInput& in, int64_t budget, int64_t cap, MemoryPlan& p) {
  const auto bpb = static_cast<int64_t>(in.bytes_per_block);
  KvWindowSplitInput s;
  s.plain.budget_bytes = budget - bpb;
  s.plain.blocks = p.blocks;
  s.plain.kv_bytes = p.kv_bytes - bpb;
  s.bytes_per_block = in.bytes_per_block;
  s.window_bytes_per_block = in.window_bytes_per_block;
  s.window_blocks = in.window_blocks;
  s.max_blocks = static_cast<int32_t>(std::min<int64_t>(cap, INT32_MAX));
  const KvWindowSplit split = split_kv_for_window(s);
  if (!split.use) return;
  p.blocks = split.blocks;
  p.window_blocks = split.window_blocks;
  p.kv_bytes = split.kv_bytes + bpb;
}

std::string kv_line(const MemoryPlanInput& in, const MemoryPlan& p, const std::string& source) {
  const auto bpb = static_cast<int64_t>(in.bytes_per_block);
  const std::string dtype = in.kv_int8 ? " int8 + fp32 scales" : " fp16";
  if (p.window_blocks == 0)
    return "kv cache " + mib(p.kv_bytes) + dtype + " = " + std::to_string(p.blocks) + "+1 blocks x " + mib(bpb) +
           " (" + source + ")";
  const auto window_bpb = static_cast<int64_t>(in.window_bytes_per_block);
  return "kv cache " + mib(p.kv_bytes) + dtype + " = " + std::to_string(p.blocks) + "+1 blocks x " +
         mib(bpb - window_bpb) + " (full-attention layers) + " + std::to_string(p.window_blocks) +
         "+1 blocks x " + mib(window_bpb) + " (sliding-window layers' pool) (" + source + ")";
}

}  // namespace

size_t kv_cache_bytes_per_block(int32_t n_layers, int32_t n_kv_heads, int32_t head_dim,
                                int32_t block_size, bool kv_int8) {
  const auto dtype = kv_int8 ? cuda::KvCacheDtype::kInt8 : cuda::KvCacheDtype::kF16;
  return static_cast<size_t>(n_layers) * 2 * block_size * n_kv_heads *
         static_cast<size_t>(cuda::kv_cache_bytes_per_head(dtype, head_dim));
}

MemoryPlan plan_memory(const MemoryPlanInput& in) {
  if (in.bytes_per_block == 0 || in.block_size <= 0 || in.max_context <= 0)
    throw ModelError("memory plan: block size, bytes per block and max_context must be positive");
  if (in.kv_cache_fraction && (*in.kv_cache_fraction <= 0.0 || *in.kv_cache_fraction > 1.0))
    throw ModelError("kv_cache_fraction must be in (0, 1], got " + std::to_string(*in.kv_cache_fraction));
  if (in.kv_cache_bytes < 0)
    throw ModelError("kv_cache_bytes must be > 0 (0: not given), got " + std::to_string(in.kv_cache_bytes));
  const auto bpb = static_cast<int64_t>(in.bytes_per_block);
  MemoryPlan p;
  p.available = std::max<int64_t>(0, in.free_after_fixed - in.graph_reserve);
  const std::string numbers = "device " + mib(in.total) + ", weights " + mib(in.weight_bytes) +
                              ", workspace " + mib(in.workspace_bytes) + ", graph reserve " +
                              mib(in.graph_reserve) + ", free for KV " + mib(p.available) +
                              ", " + mib(bpb) + " per block of " + std::to_string(in.block_size) +
                              " tokens";
  const int32_t blocks_per_seq = (in.max_context + in.block_size - 1) / in.block_size;
  const int64_t cap = static_cast<int64_t>(blocks_per_seq) * std::max(1, in.max_num_seqs);
  int64_t blocks = 0;
  std::string source;
  if (in.kv_blocks > 0) {
    blocks = in.kv_blocks;
    source = "kv_blocks " + std::to_string(in.kv_blocks);
  } else {
    const Budget b = kv_budget(in, p.available, numbers);
    p.budget = b.bytes;
    source = b.source;
    blocks = std::min(cap, b.bytes / bpb - 1);  // one block is the graph padding block
    p.capped = b.bytes / bpb - 1 > cap;
  }
  if (blocks < blocks_per_seq)
    throw KvBudgetError("KV cache budget too small: " + source + " gives " +
                        std::to_string(std::max<int64_t>(blocks, 0)) + " blocks, one sequence of " +
                        std::to_string(in.max_context) + " tokens needs " +
                        std::to_string(blocks_per_seq) + " (" + numbers + ")");
  p.blocks = static_cast<int32_t>(blocks);
  p.kv_bytes = (blocks + 1) * bpb;
  if (in.kv_blocks > 0) p.budget = p.kv_bytes;
  if (in.window_blocks > 0) split_for_window(in, p.budget, cap, p);
  if (p.kv_bytes > p.available)
    throw KvBudgetError("KV cache of " + mib(p.kv_bytes) + " (" + source + ") does not fit: " + numbers);
  p.report = "weights " + mib(in.weight_bytes) + "\nworkspace " + mib(in.workspace_bytes) +
             "\ngraph reserve " + mib(in.graph_reserve) + "\n" + kv_line(in, p, source) +
             "\ndevice total " + mib(in.total) + ", left free " +
             mib(p.available - p.kv_bytes);
  return p;
}

}  // namespace loom::cuda_backend
