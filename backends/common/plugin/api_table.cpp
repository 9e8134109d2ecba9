// The function table: every entry is a thin noexcept wrapper that checks
// its pointers and runs the body under guard(), so no exception, C++ type
// or allocator crosses the boundary.
#include <span>

#include "backends/common/plugin/backend_state.h"
#include "backends/common/plugin/errors.h"
#include "backends/common/plugin/text_api.h"

namespace loom::plugin {
namespace {

const BackendHooks* g_hooks = nullptr;  // set once by get_api; one backend per .so

loom_error_code api_error_code(const loom_error* e) { return e ? e->code : LOOM_OK; }
const char* api_error_message(const loom_error* e) { return e ? e->message.c_str() : ""; }
void api_error_free(loom_error* e) { delete e; }
const char* api_error_name(const loom_error* e) { return e ? e->name.c_str() : ""; }
const char* api_error_field(const loom_error* e) { return e ? e->field.c_str() : ""; }

loom_error* api_probe(loom_probe_info* info) {
  return guard([&] { backend_probe(*g_hooks, info); });
}

loom_error* api_create(const char* json, size_t len, loom_backend** out) {
  return guard([&] {
    require(out, "out");
    *out = nullptr;
    *out = backend_create(*g_hooks, json, len);
  });
}

loom_error* api_start(loom_backend* b) {
  return guard([&] {
    require(b, "backend");
    backend_start(*b);
  });
}

loom_error* api_drain(loom_backend* b, int64_t timeout_ms) {
  return guard([&] {
    require(b, "backend");
    backend_drain(*b, timeout_ms);
  });
}

void api_destroy(loom_backend* b) { backend_destroy(b); }

loom_error* api_submit(loom_backend* b, const loom_job_request* r, loom_job_callback cb, void* user_data) {
  return guard([&] {
    require(b, "backend");
    require(r, "request");
    job_submit(*b, *r, cb, user_data);
  });
}

loom_error* api_cancel(loom_backend* b, const char* id, size_t id_len) {
  return guard([&] {
    require(b, "backend");
    require(id, "id");
    job_cancel(*b, std::string_view(id, id_len));
  });
}

loom_error* api_tokenize(loom_backend* b, const char* text, size_t len, int32_t add_special, int32_t parse_special,
                         loom_tokens** out) {
  return guard([&] {
    require(out, "out");
    *out = nullptr;
    require(b, "backend");
    if (len > 0) require(text, "text");
    *out = tokenize(*b, std::string_view(text ? text : "", len), add_special != 0, parse_special != 0);
  });
}

loom_error* api_detokenize(loom_backend* b, const int32_t* ids, size_t count, loom_text** out) {
  return guard([&] {
    require(out, "out");
    *out = nullptr;
    require(b, "backend");
    if (count > 0) require(ids, "ids");
    *out = detokenize(*b, std::span<const int32_t>(ids, count));
  });
}

loom_error* api_stats(loom_backend* b, loom_text** out) {
  return guard([&] {
    require(out, "out_json");
    *out = nullptr;
    require(b, "backend");
    *out = text_make(backend_stats_json(*b));
  });
}

loom_plugin_api make_table(const BackendHooks& hooks) {
  loom_plugin_api t{};
  t.struct_size = sizeof(t);
  t.abi_major = LOOM_PLUGIN_ABI_MAJOR;
  t.abi_minor = LOOM_PLUGIN_ABI_MINOR;
  t.backend_name = hooks.name;
  t.build_info = hooks.build_info;
  t.error_code = api_error_code;
  t.error_message = api_error_message;
  t.error_free = api_error_free;
  t.probe = api_probe;
  t.create = api_create;
  t.start = api_start;
  t.drain = api_drain;
  t.destroy = api_destroy;
  t.submit = api_submit;
  t.cancel = api_cancel;
  t.tokenize = api_tokenize;
  t.tokens_free = tokens_free;
  t.detokenize = api_detokenize;
  t.text_free = text_free;
  t.stats = api_stats;
  t.error_name = api_error_name;
  t.error_field = api_error_field;
  return t;
}

}  // namespace

const loom_plugin_api* get_api(uint32_t host_abi_major, const BackendHooks& hooks) {
  if (host_abi_major != LOOM_PLUGIN_ABI_MAJOR) return nullptr;
  static const loom_plugin_api table = [&] {
    g_hooks = &hooks;
    return make_table(hooks);
  }();
  return &table;
}

}  // namespace loom::plugin
