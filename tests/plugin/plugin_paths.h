// Where the tests find the plugin builds (set by tests/plugin/CMakeLists.txt).
#pragma once
#include <string>

namespace loom::test {

inline std::string cpu_plugin_path() { return LOOM_CPU_PLUGIN_PATH; }
inline std::string cpu_ref_plugin_path() { return LOOM_CPU_REF_PLUGIN_PATH; }

}  // namespace loom::test
