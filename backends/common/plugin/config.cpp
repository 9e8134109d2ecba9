#include "backends/common/plugin/config.h"

#include <algorithm>
#include <limits>

#include "backends/common/plugin/errors.h"

namespace loom::plugin {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message) {
  throw PluginError(LOOM_ERR_INVALID_ARGUMENT, "config: " + message);
}

std::string read_string(const json& v, const std::string& key) {
  if (!v.is_string()) bad("'" + key + "' must be a string, got " + v.type_name());
  return v.get<std::string>();
}

int64_t read_int(const json& v, const std::string& key, int64_t min, int64_t max) {
  if (!v.is_number_integer()) bad("'" + key + "' must be an integer, got " + v.type_name() + " " + v.dump());
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max))
    bad("'" + key + "' must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max)
    bad("'" + key + "' must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + v.dump());
  return x;
}

int32_t read_int32(const json& v, const std::string& key, int32_t min) {
  return static_cast<int32_t>(read_int(v, key, min, std::numeric_limits<int32_t>::max()));
}

// The KV element types every backend accepts (plugin_api/ABI.md "Config").
std::string read_kv_dtype(const json& v, const std::string& key) {
  std::string dtype = read_string(v, key);
  if (dtype != "fp16" && dtype != "int8") bad("'" + key + "' must be \"fp16\" or \"int8\", got " + v.dump());
  return dtype;
}

double read_fraction(const json& v, const std::string& key) {
  if (!v.is_number()) bad("'" + key + "' must be a number, got " + v.type_name());
  const double x = v.get<double>();
  if (!(x > 0.0 && x <= 1.0)) bad("'" + key + "' must be in (0, 1], got " + v.dump());
  return x;
}

json parse_object(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    bad(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) bad(std::string("must be a JSON object, got ") + doc.type_name());
  return doc;
}

// Applies one common key; false when `key` is not a common key.
bool apply_common(PluginConfig& c, const std::string& key, const json& v) {
  if (key == "model") c.model = read_string(v, key);
  else if (key == "threads") c.threads = read_int32(v, key, 0);
  else if (key == "kv_cache_fraction") c.kv_cache_fraction = read_fraction(v, key);
  else if (key == "kv_cache_bytes") c.kv_cache_bytes = read_int(v, key, 1, std::numeric_limits<int64_t>::max());
  else if (key == "max_context") c.max_context = read_int32(v, key, 0);
  else if (key == "max_batch_tokens") c.max_batch_tokens = read_int32(v, key, 1);
  else if (key == "max_num_seqs") c.max_num_seqs = read_int32(v, key, 1);
  else if (key == "max_pending_jobs") c.max_pending_jobs = read_int32(v, key, 1);
  else if (key == "block_size") c.block_size = static_cast<int32_t>(read_int(v, key, 1, 1024));
  else if (key == "kv_cache_dtype") c.kv_cache_dtype = read_kv_dtype(v, key);
  else if (key == "debug_fail_step") c.debug_fail_step = read_int(v, key, 1, std::numeric_limits<int64_t>::max());
  else return false;
  return true;
}

}  // namespace

PluginConfig parse_config(std::string_view text, std::span<const std::string_view> backend_keys) {
  const json doc = parse_object(text);
  PluginConfig c;
  std::vector<std::string> unknown;
  for (const auto& [key, value] : doc.items()) {
    if (apply_common(c, key, value)) continue;
    if (std::find(backend_keys.begin(), backend_keys.end(), key) != backend_keys.end()) {
      c.backend_keys[key] = value;
      continue;
    }
    unknown.push_back(key);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& k : unknown) list += (list.empty() ? "'" : ", '") + k + "'";
    bad("unknown key" + std::string(unknown.size() > 1 ? "s " : " ") + list);
  }
  if (c.model.empty()) bad("'model' (path of the model file) is required");
  return c;
}

std::optional<std::string> backend_string(const PluginConfig& config, const std::string& key) {
  auto it = config.backend_keys.find(key);
  if (it == config.backend_keys.end()) return std::nullopt;
  return read_string(*it, key);
}

}  // namespace loom::plugin
