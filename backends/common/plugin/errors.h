// Errors at the C ABI boundary: the opaque loom_error, a C++ exception that
// carries a loom_error_code inside the plugin, and guard(), which runs an
// entry point's body and turns every exception into a loom_error*.
#pragma once
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "plugin_api/include/loom/plugin.h"

// Defined here (global namespace, the name the header declares opaque).
struct loom_error {
  loom_error_code code;
  std::string message;
  std::string name;   // the contract's error name ("too_long"), or ""
  std::string field;  // the request field at fault, or ""
};

namespace loom::plugin {

// Thrown inside the plugin; never crosses the boundary.
class PluginError : public std::runtime_error {
 public:
  PluginError(loom_error_code code, const std::string& message, std::string name = "", std::string field = "")
      : std::runtime_error(message), code_(code), name_(std::move(name)), field_(std::move(field)) {}
  loom_error_code code() const { return code_; }
  const std::string& name() const { return name_; }
  const std::string& field() const { return field_; }

 private:
  loom_error_code code_;
  std::string name_, field_;
};

// nullptr only if even this allocation fails (the host then sees success
// with nothing done, which the callers below prevent by pre-checking).
loom_error* make_error(loom_error_code code, std::string message, std::string name = "",
                       std::string field = "") noexcept;

// Maps the exception in flight (inside a catch block) to an error object.
loom_error* error_from_current_exception() noexcept;

// Runs `body` (returning void) and converts any exception to a loom_error*.
template <typename Body>
loom_error* guard(Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (...) {
    return error_from_current_exception();
  }
}

// Throws PluginError(invalid_argument) when `ptr` is null.
inline void require(const void* ptr, const char* what) {
  if (!ptr) throw PluginError(LOOM_ERR_INVALID_ARGUMENT, std::string(what) + " must not be NULL");
}

const char* error_code_name(loom_error_code code);  // "invalid_argument", ...

}  // namespace loom::plugin
