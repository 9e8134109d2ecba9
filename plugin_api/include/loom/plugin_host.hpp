// A header-only C++ helper for hosts of Loom backend plugins: dlopen, the
// version check, and RAII over the plugin's handles and results. Errors
// become loom::plugin_host::Error (code + message); the loom_error is freed
// through the plugin before the exception is thrown.
//
//   auto lib = loom::plugin_host::Library::open("build/libloom_cpu.so");
//   auto backend = lib->create(R"({"model": "m.gguf", "endpoint": "ipc:///tmp/loom.sock"})");
//   backend.start();
//   ... backend.submit(request, callback, user_data) ...
//   backend.drain(std::chrono::seconds(30));
#pragma once
#include <dlfcn.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plugin.h"

namespace loom::plugin_host {

class Error : public std::runtime_error {
 public:
  Error(loom_error_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  loom_error_code code() const { return code_; }

 private:
  loom_error_code code_;
};

// The v1.0 table ends with `stats`; a shorter table is not a v1 plugin.
inline constexpr size_t kApiMinSize = offsetof(loom_plugin_api, stats) + sizeof(void*);

// Throws unless `api` is a table this host can use: same major, big enough.
inline void check_api(const loom_plugin_api* api, const std::string& where) {
  if (!api) throw Error(LOOM_ERR_UNAVAILABLE, where + ": the plugin refused ABI major " +
                                                  std::to_string(LOOM_PLUGIN_ABI_MAJOR));
  if (api->abi_major != LOOM_PLUGIN_ABI_MAJOR)
    throw Error(LOOM_ERR_UNAVAILABLE, where + ": plugin ABI " + std::to_string(api->abi_major) + "." +
                                          std::to_string(api->abi_minor) + ", this host speaks " +
                                          std::to_string(LOOM_PLUGIN_ABI_MAJOR) + ".x");
  if (api->struct_size < kApiMinSize)
    throw Error(LOOM_ERR_UNAVAILABLE, where + ": plugin table of " + std::to_string(api->struct_size) +
                                          " bytes is smaller than v1.0's " + std::to_string(kApiMinSize));
}

// Frees `err` through `api` and throws it as Error; no-op on NULL.
inline void throw_if(const loom_plugin_api& api, loom_error* err) {
  if (!err) return;
  Error e(api.error_code(err), api.error_message(err));
  api.error_free(err);
  throw e;
}

class Backend;

// A loaded plugin. Keep it alive (it is shared by every Backend it made).
class Library : public std::enable_shared_from_this<Library> {
 public:
  static std::shared_ptr<Library> open(const std::string& path) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw Error(LOOM_ERR_NOT_FOUND, "dlopen " + path + ": " + dlerror());
    auto lib = std::shared_ptr<Library>(new Library(handle, path));
    auto entry = reinterpret_cast<loom_plugin_get_api_fn>(dlsym(handle, LOOM_PLUGIN_ENTRY_SYMBOL));
    if (!entry) throw Error(LOOM_ERR_NOT_FOUND, path + ": no symbol " LOOM_PLUGIN_ENTRY_SYMBOL);
    lib->api_ = entry(LOOM_PLUGIN_ABI_MAJOR);
    check_api(lib->api_, path);
    return lib;
  }
  ~Library() { dlclose(handle_); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  const loom_plugin_api& api() const { return *api_; }
  const std::string& path() const { return path_; }

  // NULL-free probe: fills and returns the info; throws Error(unavailable, why) when it cannot run here.
  loom_probe_info probe() const {
    loom_probe_info info{};
    info.struct_size = sizeof(info);
    throw_if(*api_, api_->probe(&info));
    return info;
  }

  Backend create(std::string_view config_json);

 private:
  Library(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* handle_;
  std::string path_;
  const loom_plugin_api* api_ = nullptr;
};

// One created backend; destroyed (after an implicit zero-timeout drain) on scope exit.
class Backend {
 public:
  Backend(std::shared_ptr<const Library> lib, loom_backend* handle) : lib_(std::move(lib)), handle_(handle) {}
  Backend(Backend&& o) noexcept : lib_(std::move(o.lib_)), handle_(std::exchange(o.handle_, nullptr)) {}
  Backend& operator=(Backend&& o) noexcept {
    reset();
    lib_ = std::move(o.lib_);
    handle_ = std::exchange(o.handle_, nullptr);
    return *this;
  }
  ~Backend() { reset(); }

  void start() { throw_if(api(), api().start(handle_)); }
  void drain(std::chrono::milliseconds timeout) { throw_if(api(), api().drain(handle_, timeout.count())); }
  void submit(const loom_job_request& r, loom_job_callback cb, void* user_data) {
    throw_if(api(), api().submit(handle_, &r, cb, user_data));
  }
  void cancel(std::string_view id) { throw_if(api(), api().cancel(handle_, id.data(), id.size())); }

  std::vector<int32_t> tokenize(std::string_view text, bool add_special = false, bool parse_special = false) {
    loom_tokens* t = nullptr;
    throw_if(api(), api().tokenize(handle_, text.data(), text.size(), add_special, parse_special, &t));
    std::vector<int32_t> ids(t->ids, t->ids + t->count);
    api().tokens_free(t);
    return ids;
  }
  std::string detokenize(const std::vector<int32_t>& ids) {
    loom_text* t = nullptr;
    throw_if(api(), api().detokenize(handle_, ids.data(), ids.size(), &t));
    return take(t);
  }
  std::string stats_json() {
    loom_text* t = nullptr;
    throw_if(api(), api().stats(handle_, &t));
    return take(t);
  }

  loom_backend* handle() const { return handle_; }
  const loom_plugin_api& api() const { return lib_->api(); }

 private:
  std::string take(loom_text* t) {
    std::string s(t->data, t->size);
    api().text_free(t);
    return s;
  }
  void reset() {
    if (handle_) lib_->api().destroy(handle_);
    handle_ = nullptr;
  }
  std::shared_ptr<const Library> lib_;
  loom_backend* handle_ = nullptr;
};

inline Backend Library::create(std::string_view config_json) {
  loom_backend* handle = nullptr;
  throw_if(*api_, api_->create(config_json.data(), config_json.size(), &handle));
  return Backend(shared_from_this(), handle);
}

}  // namespace loom::plugin_host
