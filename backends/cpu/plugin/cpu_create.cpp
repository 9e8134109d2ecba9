// create(): pick the ISA, size the KV cache from the budget, load the model
// and build the engine; print where the memory went.
#include <cstdio>
#include <filesystem>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/plugin/errors.h"
#include "backends/cpu/cpu_executor.h"
#include "backends/cpu/cpu_model.h"
#include "backends/cpu/plugin/cpu_backend.h"
#include "backends/common/model/kv_budget.h"
#include "backends/common/model/model_prelude.h"
#include "kernels/cpu/isa.h"
#include "scheduler/scheduler.h"

namespace loom::cpu_plugin {
namespace {

constexpr std::string_view kKeys[] = {"isa", "numerics"};

Numerics choose_numerics(const plugin::PluginConfig& config) {
  const std::string want = plugin::backend_string(config, "numerics").value_or("exact");
  const auto n = parse_numerics(want);
  if (!n)
    throw plugin::PluginError(LOOM_ERR_INVALID_ARGUMENT,
                              "config: 'numerics' must be \"exact\" or \"fast\", got \"" + want + "\"");
  return *n;
}

void choose_isa(const plugin::PluginConfig& config, bool scalar_reference) {
  const std::string want = plugin::backend_string(config, "isa").value_or("auto");
  if (want != "auto" && want != "scalar" && want != "avx2" && want != "avx512")
    throw plugin::PluginError(LOOM_ERR_INVALID_ARGUMENT,
                              "config: 'isa' must be \"auto\", \"scalar\", \"avx2\" or \"avx512\", got \"" + want + "\"");
  if (scalar_reference) {
    if (want != "auto" && want != "scalar")
      throw plugin::PluginError(LOOM_ERR_INVALID_ARGUMENT,
                                "config: this is the scalar-reference build; 'isa' \"" + want + "\" is not available");
    set_isa_override(Isa::Scalar);
    return;
  }
  if (want == "scalar") set_isa_override(Isa::Scalar);
  if (want == "avx2") set_isa_override(Isa::Avx2);      // throws KernelError when the CPU lacks it
  if (want == "avx512") set_isa_override(Isa::Avx512);
}

KvBudget plan(const plugin::PluginConfig& config, const ModelConfig& model, int32_t context, KvCacheDtype dtype,
              Numerics numerics) {
  KvBudgetInput in;
  in.fraction = config.kv_cache_fraction;
  in.bytes = config.kv_cache_bytes;
  in.mem_available = mem_available_bytes();
  in.weight_bytes = static_cast<int64_t>(std::filesystem::file_size(config.model));
  // Fast numerics keeps a repacked copy of the Q4/Q8 matrices (<= 1.25x their size).
  if (numerics == Numerics::kFast) in.weight_bytes += in.weight_bytes / 4 * 5;
  in.bytes_per_block = CpuKvCache::bytes_per_block(model, config.block_size, dtype);
  in.block_size = config.block_size;
  in.max_context = context;
  in.max_num_seqs = config.max_num_seqs;
  return plan_kv_cache(in);
}

// A model with sliding-window layers keeps their KV in a window pool of its
// own (scheduler/README.md) when, for the same budget, that holds at least
// as many full contexts in no more bytes. The scheduler requires the pool to
// hold a window for max_num_seqs sequences plus one step's tokens.
KvWindowSplit plan_window(const plugin::PluginConfig& config, const ModelConfig& model, int32_t context,
                          KvCacheDtype dtype, const KvBudget& plain) {
  if (model.sliding_window <= 0) return {};
  sched::SchedulerConfig s;
  s.block_size = config.block_size;
  s.max_num_seqs = config.max_num_seqs;
  s.max_batched_tokens = config.max_batch_tokens;
  s.window_keep_tokens = cpu_window_keep_tokens(model);
  KvWindowSplitInput in;
  in.plain = plain;
  in.bytes_per_block = CpuKvCache::bytes_per_block(model, config.block_size, dtype);
  in.window_bytes_per_block = CpuKvCache::window_bytes_per_block(model, config.block_size, dtype);
  in.window_blocks = s.min_window_blocks();
  in.max_blocks = (context + config.block_size - 1) / config.block_size * config.max_num_seqs;
  return split_kv_for_window(in);
}

// The budget's figures for the stats and the start-up line, with the split applied.
KvBudget apply_window(KvBudget kv, const KvWindowSplit& split) {
  if (!split.use) return kv;
  kv.blocks = split.blocks;
  kv.kv_bytes = split.kv_bytes;
  return kv;
}

nlohmann::json report(const CpuModel& m, const KvBudget& kv, const plugin::PluginConfig& config) {
  return {{"model", config.model},
          {"isa", std::string(isa_name(active_isa()))},
          {"numerics", std::string(numerics_name(m.numerics()))},
          {"packed_weight_bytes", static_cast<int64_t>(m.packed_bytes())},
          {"threads", m.threads()},
          {"context", m.context()},
          {"weight_bytes", static_cast<int64_t>(m.weight_bytes())},
          {"kv_budget_bytes", kv.budget_bytes},
          {"kv_budget_source", kv.source},
          {"kv_blocks", kv.blocks},
          {"kv_window_blocks", m.kv_cache().num_window_blocks()},
          {"kv_block_size", config.block_size},
          {"kv_cache_dtype", std::string(kv_cache_dtype_name(m.kv_cache().dtype()))},
          {"kv_bytes", kv.kv_bytes},
          {"kv_capped_to_max_num_seqs", kv.capped},
          {"mem_available_bytes", mem_available_bytes()}};
}

std::string window_note(const nlohmann::json& r) {
  const int w = r["kv_window_blocks"].get<int>();
  return w > 0 ? " (sliding-window layers: " + std::to_string(w) + " blocks of their own)" : "";
}

void print_report(const nlohmann::json& r) {
  std::fprintf(stderr,
               "loom cpu: %s: weights %lld B (mmap), KV cache %s, %d blocks x %d tokens%s = %lld B "
               "(budget %lld B from %s%s), %d threads, isa %s, numerics %s, context %d\n",
               r["model"].get<std::string>().c_str(), static_cast<long long>(r["weight_bytes"].get<int64_t>()),
               r["kv_cache_dtype"].get<std::string>().c_str(), r["kv_blocks"].get<int>(),
               r["kv_block_size"].get<int>(), window_note(r).c_str(),
               static_cast<long long>(r["kv_bytes"].get<int64_t>()),
               static_cast<long long>(r["kv_budget_bytes"].get<int64_t>()),
               r["kv_budget_source"].get<std::string>().c_str(),
               r["kv_capped_to_max_num_seqs"].get<bool>() ? ", capped at max_num_seqs full contexts" : "",
               r["threads"].get<int>(), r["isa"].get<std::string>().c_str(),
               r["numerics"].get<std::string>().c_str(), r["context"].get<int>());
}

}  // namespace

std::span<const std::string_view> config_keys() { return kKeys; }

plugin::BackendParts create(const plugin::PluginConfig& config, bool scalar_reference) {
  choose_isa(config, scalar_reference);
  const Numerics numerics = choose_numerics(config);
  const auto [geometry, context] = read_model_prelude(config.model, config.max_context);
  // PluginConfig validated the key (fp16 | int8); parse_kv_cache_dtype maps it.
  const KvCacheDtype dtype = parse_kv_cache_dtype(config.kv_cache_dtype);
  const KvBudget plain = plan(config, geometry, context, dtype, numerics);
  const KvWindowSplit split = plan_window(config, geometry, context, dtype, plain);
  const KvBudget kv = apply_window(plain, split);

  CpuModelOptions options;
  options.threads = config.threads;
  options.max_batch_tokens = config.max_batch_tokens;
  options.block_size = config.block_size;
  options.kv_blocks = kv.blocks;
  options.window_kv_blocks = split.use ? split.window_blocks : 0;
  options.max_context = context;
  options.kv_dtype = dtype;
  options.numerics = numerics;
  std::shared_ptr<CpuModel> model = CpuModel::load(config.model, options);

  plugin::BackendParts parts =
      plugin::assemble(config, model, std::make_unique<CpuExecutor>(*model), report(*model, kv, config));
  print_report(parts.report);
  return parts;
}

}  // namespace loom::cpu_plugin
