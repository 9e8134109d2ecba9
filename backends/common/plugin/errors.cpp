#include "backends/common/plugin/errors.h"

#include <system_error>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/kv_budget.h"
#include "backends/common/model/model_config.h"
#include "backends/common/tokenizer/tokenizer.h"

namespace loom::plugin {

loom_error* make_error(loom_error_code code, std::string message, std::string name, std::string field) noexcept {
  try {
    return new loom_error{code, std::move(message), std::move(name), std::move(field)};
  } catch (...) {
    // Out of memory while reporting: a static error would be freed by
    // error_free, so retry with an empty message.
    try {
      return new loom_error{LOOM_ERR_RESOURCE_EXHAUSTED, std::string(), std::string(), std::string()};
    } catch (...) {
      return nullptr;
    }
  }
}

loom_error* error_from_current_exception() noexcept {
  try {
    throw;
  } catch (const PluginError& e) {
    return make_error(e.code(), e.what(), e.name(), e.field());
  } catch (const KvBudgetError& e) {
    return make_error(LOOM_ERR_RESOURCE_EXHAUSTED, e.what());
  } catch (const GgufError& e) {
    return make_error(LOOM_ERR_INVALID_ARGUMENT, std::string("model file: ") + e.what());
  } catch (const ModelError& e) {
    return make_error(LOOM_ERR_INVALID_ARGUMENT, std::string("model: ") + e.what());
  } catch (const TokenizerError& e) {
    return make_error(LOOM_ERR_INVALID_ARGUMENT, std::string("tokenizer: ") + e.what());
  } catch (const std::bad_alloc&) {
    return make_error(LOOM_ERR_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::invalid_argument& e) {
    return make_error(LOOM_ERR_INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    return make_error(LOOM_ERR_INTERNAL, e.what());
  } catch (...) {
    return make_error(LOOM_ERR_INTERNAL, "unknown exception");
  }
}

const char* error_code_name(loom_error_code code) {
  switch (code) {
    case LOOM_OK: return "ok";
    case LOOM_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case LOOM_ERR_NOT_FOUND: return "not_found";
    case LOOM_ERR_RESOURCE_EXHAUSTED: return "resource_exhausted";
    case LOOM_ERR_UNAVAILABLE: return "unavailable";
    case LOOM_ERR_CANCELLED: return "cancelled";
    case LOOM_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}

}  // namespace loom::plugin
