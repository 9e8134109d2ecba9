// The seam between a model family and the CPU backend: one forward pass over
// a batch of sequence chunks on the paged KV cache. Each family (Llama,
// Gemma 3) implements it in its own file set; make_cpu_forward picks one by
// ModelConfig::family. backends/README.md says how a family is added.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_batch.h"
#include "backends/cpu/kv_cache.h"
#include "kernels/cpu/fast_matmul.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {

class GgufFile;


// "exact": every matmul in llama.cpp's arithmetic order (logits bit-equal
// with it). "fast": Q4_0/Q4_1/Q8_0 matrices repacked at load time into the
// interleaved layout of kernels/cpu/fast_matmul.h, sums reordered (close to,
// not equal with, exact; tests/model/test_fast_numerics.cpp is the gate).
enum class Numerics { kExact, kFast };
std::string_view numerics_name(Numerics n);
std::optional<Numerics> parse_numerics(std::string_view s);

class ModelForward {
 public:
  virtual ~ModelForward() = default;
  // Writes logits_rows(batch) rows of n_vocab floats to `logits`. Throws
  // ModelError on a batch that exceeds max_batch_tokens or names bad tokens.
  virtual void run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits) = 0;
  virtual int32_t max_batch_tokens() const = 0;

  // Owns the repacked matrices the bound WeightViews point to (fast numerics).
  void keep_packed(std::vector<std::unique_ptr<PackedWeights>> packed);
  size_t packed_bytes() const;

 private:
  std::vector<std::unique_ptr<PackedWeights>> packed_;
};

// Binds the family's weights from `file` (which must outlive the result) and
// builds its forward pass. Throws ModelError naming a missing or bad tensor.
// kFast repacks every Q4_0/Q4_1/Q8_0 matrix (in parallel on `pool`).
std::unique_ptr<ModelForward> make_cpu_forward(const GgufFile& file, const ModelConfig& config, ThreadPool* pool,
                                               int32_t max_batch_tokens, Numerics numerics = Numerics::kExact);

}  // namespace loom
