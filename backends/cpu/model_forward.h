// The seam between a model family and the CPU backend: one forward pass over
// a batch of sequence chunks on the paged KV cache. Each family (Llama,
// Gemma 3) implements it in its own file set; make_cpu_forward picks one by
// ModelConfig::family. backends/README.md says how a family is added.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_batch.h"
#include "backends/cpu/kv_cache.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {

class GgufFile;

class ModelForward {
 public:
  virtual ~ModelForward() = default;
  // Writes logits_rows(batch) rows of n_vocab floats to `logits`. Throws
  // ModelError on a batch that exceeds max_batch_tokens or names bad tokens.
  virtual void run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) = 0;
  virtual int32_t max_batch_tokens() const = 0;
};

// Binds the family's weights from `file` (which must outlive the result) and
// builds its forward pass. Throws ModelError naming a missing or bad tensor.
std::unique_ptr<ModelForward> make_cpu_forward(const GgufFile& file, const ModelConfig& config, ThreadPool* pool,
                                               int32_t max_batch_tokens);

}  // namespace loom
