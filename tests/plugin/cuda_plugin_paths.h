// Where the CUDA plugin tests find libloom_cuda_emu.so / libloom_cuda.so
// (set by tests/plugin/CMakeLists.txt when those targets exist).
#pragma once
#include <string>

namespace loom::test {

#ifdef LOOM_CUDA_EMU_PLUGIN_PATH
inline std::string cuda_emu_plugin_path() { return LOOM_CUDA_EMU_PLUGIN_PATH; }
#endif
#ifdef LOOM_CUDA_PLUGIN_PATH
inline std::string cuda_plugin_path() { return LOOM_CUDA_PLUGIN_PATH; }
#endif

}  // namespace loom::test
