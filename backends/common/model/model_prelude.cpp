#include "backends/common/model/model_prelude.h"

#include <algorithm>

#include "backends/common/gguf/gguf_file.h"

namespace loom {

ModelPrelude read_model_prelude(const std::string& path, int32_t max_context) {
  ModelPrelude p;
  p.geometry = read_model_config(GgufFile::open(path));
  p.context = max_context > 0 ? std::min(max_context, p.geometry.context_length) : p.geometry.context_length;
  return p;
}

}  // namespace loom
