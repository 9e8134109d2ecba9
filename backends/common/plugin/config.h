// The backend configuration: a JSON object given to create(). Every key is
// optional except `model`; unknown keys are an error that lists them all, a
// wrong type is an error naming the key (see plugin_api/ABI.md "Config").
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace loom::plugin {

struct PluginConfig {
  std::string model;     // path of the model file
  int32_t threads = 0;                         // 0: every core
  std::optional<double> kv_cache_fraction;     // of the memory available at create
  std::optional<int64_t> kv_cache_bytes;       // absolute KV budget
  int32_t max_context = 0;                     // 0: the model's trained context
  int32_t max_batch_tokens = 512;              // tokens per forward pass
  int32_t max_num_seqs = 32;                   // sequences per step
  int32_t max_pending_jobs = 256;              // accepted and unfinished
  int32_t block_size = 16;                     // KV tokens per block
  int64_t debug_fail_step = 0;                 // test hook: step N fails fatally (0: off)
  std::string kv_cache_dtype = "fp16";         // KV element type: "fp16" or "int8" (per-head fp32 scale)
  nlohmann::json backend_keys = nlohmann::json::object();  // the backend's own keys, type-checked by it
};

// Throws PluginError(invalid_argument) naming the problem. `backend_keys`
// lists the keys this backend accepts beyond the common ones.
PluginConfig parse_config(std::string_view json, std::span<const std::string_view> backend_keys);

// A backend key read with a type check; nullopt when absent.
std::optional<std::string> backend_string(const PluginConfig& config, const std::string& key);

}  // namespace loom::plugin
