// create(): read the geometry, size the KV cache from the budget keys
// (kv_plan.h), load the model onto the device, build the engine, report
// where the memory went.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/plugin/errors.h"
#include "backends/cuda/cuda_executor.h"
#include "backends/cuda/cuda_model.h"
#include "backends/cuda/plugin/cuda_backend.h"
#include "backends/cuda/plugin/kv_plan.h"
#include "backends/common/model/kv_budget.h"
#include "backends/common/model/model_prelude.h"

namespace loom::cuda_plugin {
namespace {

constexpr std::string_view kKeys[] = {"graph_batch_sizes", "device"};

[[noreturn]] void bad(const std::string& message) {
  throw plugin::PluginError(LOOM_ERR_INVALID_ARGUMENT, "config: " + message);
}

// "graph_batch_sizes": [1, 2, 4] (each in [1, max_num_seqs]; [] disables graphs).
std::vector<int32_t> graph_sizes(const plugin::PluginConfig& config) {
  std::vector<int32_t> sizes;
  auto it = config.backend_keys.find("graph_batch_sizes");
  if (it == config.backend_keys.end()) {
    for (int32_t s : CudaModelOptions{}.graph_batch_sizes)
      if (s <= config.max_num_seqs) sizes.push_back(s);
    return sizes;
  }
  if (!it->is_array()) bad("'graph_batch_sizes' must be an array of integers, got " + std::string(it->type_name()));
  for (const auto& v : *it) {
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > config.max_num_seqs)
      bad("'graph_batch_sizes' entries must be integers in [1, max_num_seqs = " +
          std::to_string(config.max_num_seqs) + "], got " + v.dump());
    sizes.push_back(v.get<int32_t>());
  }
  return sizes;
}

// "device": 0 (a CUDA device ordinal, >= 0; whether it exists is the probe's call).
int32_t device_ordinal(const plugin::PluginConfig& config) {
  auto it = config.backend_keys.find("device");
  if (it == config.backend_keys.end()) return 0;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > INT32_MAX)
    bad("'device' must be an integer >= 0 (a CUDA device ordinal), got " + it->dump());
  return it->get<int32_t>();
}

KvPlan plan(const plugin::PluginConfig& config, const cuda_backend::CudaProbe& p, const ModelConfig& geometry,
            int32_t context, bool int8) {
  KvPlanInput in;
  in.fraction = config.kv_cache_fraction;
  in.bytes = config.kv_cache_bytes;
  in.emulated = p.emulated;
  in.device_memory = p.total_memory;
  in.mem_available = mem_available_bytes();
  in.weight_bytes = static_cast<int64_t>(std::filesystem::file_size(config.model));
  in.bytes_per_block = cuda_backend::CudaForward::kv_bytes_per_block(geometry, config.block_size, int8);
  in.block_size = config.block_size;
  in.max_context = context;
  in.max_num_seqs = config.max_num_seqs;
  return plan_kv(in);
}

CudaModelOptions model_options(const plugin::PluginConfig& config, int32_t device, const KvPlan& kv,
                               int32_t context) {
  CudaModelOptions o;
  o.max_batch_tokens = config.max_batch_tokens;
  o.max_num_seqs = config.max_num_seqs;
  o.block_size = config.block_size;
  o.max_context = context;
  o.device = device;
  o.kv_cache_fraction = kv.fraction;
  o.kv_cache_bytes = kv.bytes;
  o.kv_blocks = kv.kv_blocks;
  o.graph_batch_sizes = graph_sizes(config);
  o.kv_int8 = config.kv_cache_dtype == "int8";
  o.print_memory_plan = false;  // print_report below says it once, with the budget's source
  return o;
}

// CudaModel reports a KV budget that cannot work, or a device allocation
// that failed, as KvBudgetError / CudaError; the ABI calls both
// resource_exhausted (other ModelErrors are bad input, mapped by errors.cpp).
std::unique_ptr<CudaModel> load(const std::string& path, const CudaModelOptions& options) {
  try {
    return CudaModel::load(path, options);
  } catch (const cuda_backend::KvBudgetError& e) {
    throw plugin::PluginError(LOOM_ERR_RESOURCE_EXHAUSTED, std::string("model: ") + e.what());
  } catch (const cuda_backend::CudaError& e) {
    const std::string what = e.what();
    const bool oom = what.find("cudaErrorMemoryAllocation") != std::string::npos;
    throw plugin::PluginError(oom ? LOOM_ERR_RESOURCE_EXHAUSTED : LOOM_ERR_INTERNAL, "cuda: " + what);
  }
}

// The memory plan's lines ("weights 123 B (0.1 MiB)", ...).
nlohmann::json plan_lines(const std::string& report) {
  nlohmann::json lines = nlohmann::json::array();
  std::istringstream in(report);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

nlohmann::json report(const CudaModel& m, const KvPlan& kv, const plugin::PluginConfig& config, bool int8) {
  // kv_blocks > 0: the plugin planned (emulation); otherwise CudaModel did, from the keys.
  const bool planned_here = kv.kv_blocks > 0;
  return {{"model", config.model},
          {"device", m.device().device},
          {"emulated", m.device().emulated},
          {"context", m.context()},
          {"weight_bytes", m.weight_bytes()},
          {"kv_budget_bytes", planned_here ? kv.budget_bytes : m.memory_plan().budget},
          {"kv_budget_source", kv.source},
          {"kv_blocks", m.num_kv_blocks()},
          {"kv_window_blocks", m.num_window_kv_blocks()},
          {"kv_block_size", m.block_size()},
          {"kv_bytes", m.memory_plan().kv_bytes},
          {"kv_cache_dtype", int8 ? "int8" : "fp16"},
          {"kv_capped_to_max_num_seqs", planned_here ? kv.capped : m.memory_plan().capped},
          {"graph_batch_sizes", m.graphs().sizes()},
          {"memory_plan", plan_lines(m.memory_report())}};
}

void print_report(const nlohmann::json& r) {
  std::string plan;
  for (const auto& line : r["memory_plan"]) plan += "\n  " + line.get<std::string>();
  const int window = r["kv_window_blocks"].get<int>();
  const std::string window_note =
      window > 0 ? " (sliding-window layers: " + std::to_string(window) + "+1 blocks of their own)" : "";
  std::fprintf(stderr, "loom cuda: %s on %s%s: KV cache %d+1 blocks x %d tokens%s (%s, %s%s), context %d%s\n",
               r["model"].get<std::string>().c_str(), r["device"].get<std::string>().c_str(),
               r["emulated"].get<bool>() ? " [SIMT emulation on the CPU]" : "", r["kv_blocks"].get<int>(),
               r["kv_block_size"].get<int>(), window_note.c_str(), r["kv_cache_dtype"].get<std::string>().c_str(),
               r["kv_budget_source"].get<std::string>().c_str(),
               r["kv_capped_to_max_num_seqs"].get<bool>() ? ", capped at max_num_seqs full contexts" : "",
               r["context"].get<int>(), plan.c_str());
}

}  // namespace

std::span<const std::string_view> config_keys() { return kKeys; }

plugin::BackendParts create(const plugin::PluginConfig& config) {
  (void)graph_sizes(config);  // bad keys fail before the probe and before the model is read
  const int32_t device = device_ordinal(config);
  const cuda_backend::CudaProbe probe = cuda_probe(device);
  if (!probe.usable) throw plugin::PluginError(LOOM_ERR_UNAVAILABLE, "cuda backend unavailable: " + probe.reason);
  const auto [geometry, context] = read_model_prelude(config.model, config.max_context);
  const bool int8 = config.kv_cache_dtype == "int8";
  const KvPlan kv = plan(config, probe, geometry, context, int8);
  std::shared_ptr<CudaModel> model = load(config.model, model_options(config, device, kv, context));
  plugin::BackendParts parts =
      plugin::assemble(config, model, std::make_unique<CudaExecutor>(*model), report(*model, kv, config, int8));
  print_report(parts.report);
  return parts;
}

}  // namespace loom::cuda_plugin
