// The Llama-family forward pass on the CPU over a batch of sequence chunks.
// All chunks' tokens go through each weight matrix together (one GEMM per
// matrix per layer); attention reads each sequence's K/V from its own blocks.
// Every output element is computed the same way whatever else is in the
// batch, so results do not depend on batching (tests/model checks this).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cpu/forward_batch.h"
#include "backends/cpu/kv_cache.h"
#include "backends/common/model/llama_weights.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {

class LlamaForward {
 public:
  // max_batch_tokens bounds the tokens of one run() (sizes the workspace).
  LlamaForward(const ModelConfig& config, const LlamaWeights& weights, ThreadPool* pool,
               int32_t max_batch_tokens);

  // Writes logits_rows(batch) rows of n_vocab floats to `logits`. Throws
  // ModelError on a batch that exceeds max_batch_tokens or names bad tokens.
  void run(std::span<const SequenceChunk> batch, CpuKvCache& kv, float* logits);

  int32_t max_batch_tokens() const { return max_tokens_; }

 private:
  void check_batch(std::span<const SequenceChunk> batch, const CpuKvCache& kv) const;
  void embed(std::span<const SequenceChunk> batch);
  void attention_block(const LlamaLayerWeights& w, std::span<const SequenceChunk> batch, CpuKvCache& kv,
                       int32_t layer);
  // KvMut: cpu::PagedKvMut (fp16) or cpu::PagedKvInt8Mut (int8); defined in the .cpp.
  template <typename KvMut>
  void store_and_attend(std::span<const SequenceChunk> batch, const KvMut& kv);
  template <typename Kv>
  void attend(std::span<const SequenceChunk> batch, const Kv& kv);
  void ffn_block(const LlamaLayerWeights& w);
  void compute_logits(std::span<const SequenceChunk> batch, float* logits);
  void add_bias(float* rows, const float* bias, int64_t width);

  const ModelConfig& c_;
  const LlamaWeights& w_;
  ThreadPool* pool_;
  int32_t max_tokens_;
  cpu::RopeParams rope_;
  int64_t n_ = 0;  // tokens in the current batch
  // Workspace, [max_tokens][width] row-major.
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_;
  std::vector<int32_t> positions_;
};

}  // namespace loom
