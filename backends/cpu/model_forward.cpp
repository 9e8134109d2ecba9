#include "backends/cpu/model_forward.h"

#include "backends/common/model/gemma3_weights.h"
#include "backends/common/model/llama_weights.h"
#include "backends/cpu/gemma3_forward.h"
#include "backends/cpu/llama_forward.h"
#include "kernels/cpu/fast_matmul.h"

namespace loom {
namespace {

// Repacks the listed matrices whose type has a fast layout and points their
// views at the copies; returns the copies (the caller keeps them alive).
std::vector<std::unique_ptr<PackedWeights>> repack(const std::vector<WeightView*>& views, ThreadPool* pool) {
  std::vector<WeightView*> todo;
  for (WeightView* v : views)
    if (v->data && fast_packable(v->type)) todo.push_back(v);
  std::vector<std::unique_ptr<PackedWeights>> packed(todo.size());
  auto work = [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) packed[i] = std::make_unique<PackedWeights>(pack_weights(*todo[i]));
  };
  if (pool)
    pool->parallel_for(static_cast<int64_t>(todo.size()), work);
  else
    work(0, static_cast<int64_t>(todo.size()), 0);
  for (size_t i = 0; i < todo.size(); ++i) todo[i]->packed = packed[i].get();
  return packed;
}

template <class Weights>
std::vector<WeightView*> matrices(Weights& w) {
  std::vector<WeightView*> out{&w.output};
  for (auto& l : w.layers)
    for (WeightView* v : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) out.push_back(v);
  return out;
}

template <class Forward, class Weights>
std::unique_ptr<ModelForward> build(const ModelConfig& config, Weights w, ThreadPool* pool, int32_t max_batch_tokens,
                                    Numerics numerics) {
  std::vector<std::unique_ptr<PackedWeights>> packed;
  if (numerics == Numerics::kFast) packed = repack(matrices(w), pool);
  auto f = std::make_unique<Forward>(config, std::move(w), pool, max_batch_tokens);
  f->keep_packed(std::move(packed));
  return f;
}

}  // namespace

std::string_view numerics_name(Numerics n) { return n == Numerics::kFast ? "fast" : "exact"; }

std::optional<Numerics> parse_numerics(std::string_view s) {
  if (s == "exact") return Numerics::kExact;
  if (s == "fast") return Numerics::kFast;
  return std::nullopt;
}

void ModelForward::keep_packed(std::vector<std::unique_ptr<PackedWeights>> packed) { packed_ = std::move(packed); }

size_t ModelForward::packed_bytes() const {
  size_t total = 0;
  for (const auto& p : packed_) total += p->bytes();
  return total;
}

std::unique_ptr<ModelForward> make_cpu_forward(const GgufFile& file, const ModelConfig& config, ThreadPool* pool,
                                               int32_t max_batch_tokens, Numerics numerics) {
  switch (config.family) {
    case ModelFamily::kLlama:
      return build<LlamaForward>(config, bind_llama_weights(file, config), pool, max_batch_tokens, numerics);
    case ModelFamily::kGemma3:
      return build<Gemma3Forward>(config, bind_gemma3_weights(file, config), pool, max_batch_tokens, numerics);
  }
  throw ModelError("no CPU forward pass for model family of '" + config.arch + "'");
}

}  // namespace loom
