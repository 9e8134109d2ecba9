// A loaded model on the CPU: the mapped GGUF file, its config, tokenizer and
// chat template, the bound weights, a thread pool, the paged KV cache and the
// forward pass. Backends, the CLI and tests build on this.
#pragma once
#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/model_config.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "backends/cpu/forward_batch.h"
#include "backends/cpu/kv_cache.h"
#include "backends/cpu/model_forward.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {

struct CpuModelOptions {
  int32_t threads = 0;             // 0: every core of the machine
  int32_t max_batch_tokens = 512;  // tokens of one forward pass
  int32_t block_size = 16;         // KV tokens per block
  int32_t kv_blocks = 0;           // 0: enough blocks for one full context
  // > 0: the sliding-window layers' KV in a pool of its own this size
  // (scheduler/README.md, "window pool"); kv_blocks then sizes the others'.
  int32_t window_kv_blocks = 0;
  int32_t max_context = 0;         // 0: the model's trained context length
  KvCacheDtype kv_dtype = KvCacheDtype::kFp16;  // int8: ~1.9x the tokens per byte, small accuracy cost
  Numerics numerics = Numerics::kExact;         // fast: repacked weights, reordered sums (model_forward.h)
};

// Called while loading: a stage name and the fraction done in [0, 1].
using LoadProgress = std::function<void(std::string_view stage, double fraction)>;

class CpuModel {
 public:
  // Throws GgufError (bad file), ModelError (unsupported model) or
  // TokenizerError; each message is one line naming the problem.
  static std::unique_ptr<CpuModel> load(const std::string& path, const CpuModelOptions& options,
                                        const LoadProgress& progress = {});

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const std::string& chat_template() const { return chat_template_; }
  const GgufFile& file() const { return file_; }
  int32_t context() const { return context_; }  // usable positions per sequence
  int32_t threads() const { return pool_->size(); }
  CpuKvCache& kv_cache() { return *kv_; }
  const CpuKvCache& kv_cache() const { return *kv_; }
  int32_t max_batch_tokens() const { return forward_->max_batch_tokens(); }
  size_t weight_bytes() const;  // bytes of tensors the forward pass reads per token
  Numerics numerics() const { return numerics_; }
  size_t packed_bytes() const { return forward_->packed_bytes(); }  // fast numerics' repacked copies

  // One forward pass over `batch` on this model's KV cache.
  void forward(std::span<const SequenceChunk> batch, float* logits) { forward_->run(batch, *kv_, logits); }

 private:
  explicit CpuModel(GgufFile file) : file_(std::move(file)) {}

  GgufFile file_;
  ModelConfig config_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string chat_template_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<CpuKvCache> kv_;
  std::unique_ptr<ModelForward> forward_;  // the family's pass; holds the bound weights
  int32_t context_ = 0;
  Numerics numerics_ = Numerics::kExact;
};

// One sequence that owns the whole KV cache (blocks 0, 1, 2, ... in order):
// the simple path for the CLI, evaluation and tests.
class SingleSequence {
 public:
  explicit SingleSequence(CpuModel& model);

  // Runs `tokens` at the next positions (split into max_batch_tokens chunks).
  // kLast: returns the last token's logits [n_vocab]; kAll: [tokens][n_vocab].
  std::vector<float> feed(std::span<const int32_t> tokens, LogitsWanted wanted = LogitsWanted::kLast);
  int32_t position() const { return position_; }
  void reset() { position_ = 0; }
  // Forgets positions from n on (their cache slots are overwritten later).
  void truncate(int32_t n) { position_ = std::min(position_, std::max(n, 0)); }

 private:
  CpuModel& model_;
  std::vector<int32_t> block_table_;
  int32_t position_ = 0;
};

}  // namespace loom
