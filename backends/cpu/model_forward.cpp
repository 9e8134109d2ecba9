#include "backends/cpu/model_forward.h"

#include "backends/common/model/gemma3_weights.h"
#include "backends/common/model/llama_weights.h"
#include "backends/cpu/gemma3_forward.h"
#include "backends/cpu/llama_forward.h"

namespace loom {

std::unique_ptr<ModelForward> make_cpu_forward(const GgufFile& file, const ModelConfig& config, ThreadPool* pool,
                                               int32_t max_batch_tokens) {
  switch (config.family) {
    case ModelFamily::kLlama:
      return std::make_unique<LlamaForward>(config, bind_llama_weights(file, config), pool, max_batch_tokens);
    case ModelFamily::kGemma3:
      return std::make_unique<Gemma3Forward>(config, bind_gemma3_weights(file, config), pool, max_batch_tokens);
  }
  throw ModelError("no CPU forward pass for model family of '" + config.arch + "'");
}

}  // namespace loom
