#include "backends/common/model/kv_budget.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include <stdexcept>

namespace loom {
namespace {

[[noreturn]] void exhausted(const std::string& message) {
  throw KvBudgetError(message);
}

std::string fmt(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

KvBudget plan_kv_cache(const KvBudgetInput& in) {
  if (in.bytes_per_block == 0 || in.block_size <= 0 || in.max_context <= 0 || in.max_num_seqs <= 0)
    throw std::logic_error("plan_kv_cache: empty model geometry");
  KvBudget out;
  const int64_t free = std::max<int64_t>(0, in.mem_available - in.weight_bytes);
  const int64_t limit = in.bytes_limit.value_or(in.mem_available);
  if (in.bytes && *in.bytes > limit)
    exhausted("kv_cache_bytes " + std::to_string(*in.bytes) + " exceeds the " + std::to_string(limit) + " bytes " +
              (in.limit_name.empty() ? "of MemAvailable" : in.limit_name));
  out.budget_bytes = std::numeric_limits<int64_t>::max();
  if (in.fraction) {
    out.budget_bytes = static_cast<int64_t>(*in.fraction * static_cast<double>(free));
    out.source = "kv_cache_fraction " + fmt(*in.fraction) + " of " + std::to_string(free) + " free bytes";
  }
  if (in.bytes && *in.bytes < out.budget_bytes) {
    out.budget_bytes = *in.bytes;
    out.source = "kv_cache_bytes";
  }
  if (!in.fraction && !in.bytes) {
    out.budget_bytes = in.default_bytes.value_or(free / 2);
    out.source = in.default_bytes ? in.default_source : "default: 0.5 of " + std::to_string(free) + " free bytes";
  }
  const int64_t per_seq = (in.max_context + in.block_size - 1) / in.block_size;
  const int64_t fits = out.budget_bytes / static_cast<int64_t>(in.bytes_per_block) - in.reserved_blocks;
  const std::string reserved =
      in.reserved_blocks > 0 ? " (+" + std::to_string(in.reserved_blocks) + " padding block)" : "";
  if (fits < per_seq)
    exhausted("KV budget of " + std::to_string(out.budget_bytes) + " bytes (" + out.source + ") holds " +
              std::to_string(std::max<int64_t>(fits, 0)) + " blocks of " + std::to_string(in.bytes_per_block) +
              " bytes" + reserved + ", but one sequence of " +
              std::to_string(in.max_context) + " tokens needs " + std::to_string(per_seq) + " blocks (" +
              std::to_string(per_seq * static_cast<int64_t>(in.bytes_per_block)) +
              " bytes): raise kv_cache_bytes / kv_cache_fraction or lower max_context");
  const int64_t cap = std::min<int64_t>(per_seq * in.max_num_seqs, std::numeric_limits<int32_t>::max() - 1);
  out.capped = fits > cap;
  out.blocks = static_cast<int32_t>(std::min(fits, cap));
  out.kv_bytes = static_cast<int64_t>(out.blocks) * static_cast<int64_t>(in.bytes_per_block);
  return out;
}

KvWindowSplit split_kv_for_window(const KvWindowSplitInput& in) {
  KvWindowSplit out;
  if (in.window_blocks <= 0 || in.window_bytes_per_block == 0 || in.window_bytes_per_block >= in.bytes_per_block)
    return out;
  const auto full_bytes = static_cast<int64_t>(in.bytes_per_block - in.window_bytes_per_block);
  const int64_t window_bytes = int64_t{in.window_blocks} * static_cast<int64_t>(in.window_bytes_per_block);
  const int64_t left = in.plain.budget_bytes - window_bytes;
  if (left <= 0) return out;
  const auto blocks = static_cast<int32_t>(std::min<int64_t>(left / full_bytes, in.max_blocks));
  const int64_t bytes = int64_t{blocks} * full_bytes + window_bytes;
  out.use = blocks > in.plain.blocks || (blocks == in.plain.blocks && bytes < in.plain.kv_bytes);
  if (!out.use) return out;
  out.blocks = blocks;
  out.window_blocks = in.window_blocks;
  out.kv_bytes = bytes;
  return out;
}

int64_t mem_available_bytes(const char* meminfo_path) {
  std::ifstream in(meminfo_path);
  std::string key, unit;
  int64_t value = 0;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return value * 1024;  // the file says kB (KiB)
  }
  return 0;
}

}  // namespace loom
