// What every backend reads before it loads a model: the geometry (a cheap
// metadata read, so a bad KV budget fails before the weights are touched) and
// the context a sequence gets (the configured max_context, at most the
// model's trained context; 0: the trained context).
#pragma once
#include <cstdint>
#include <string>

#include "backends/common/model/model_config.h"

namespace loom {

struct ModelPrelude {
  ModelConfig geometry;
  int32_t context = 0;
};

// Throws GgufError / ModelError for a file that is not a usable model.
ModelPrelude read_model_prelude(const std::string& path, int32_t max_context);

}  // namespace loom
