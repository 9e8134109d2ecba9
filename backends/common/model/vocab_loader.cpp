#include "backends/common/model/vocab_loader.h"

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/model_config.h"

namespace loom {
namespace {

int32_t token_id(const GgufFile& f, const char* key, size_t n_tokens) {
  auto v = f.get_u32(key);
  if (!v) return -1;
  if (*v >= n_tokens)
    throw ModelError(std::string(key) + " = " + std::to_string(*v) + " is outside the vocabulary");
  return static_cast<int32_t>(*v);
}

}  // namespace

VocabData read_vocab(const GgufFile& f) {
  VocabData v;
  v.model = f.get_string("tokenizer.ggml.model").value_or("");
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("default");
  auto tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (v.model.empty() || !tokens || tokens->empty())
    throw ModelError("model has no tokenizer (tokenizer.ggml.model / tokens missing) in " + f.path());
  v.tokens = std::move(*tokens);
  const size_t n = v.tokens.size();
  if (auto scores = f.get_f32_array("tokenizer.ggml.scores")) v.scores = std::move(*scores);
  if (auto types = f.get_i32_array("tokenizer.ggml.token_type")) v.token_types = std::move(*types);
  if (auto merges = f.get_string_array("tokenizer.ggml.merges")) v.merges = std::move(*merges);
  if ((!v.scores.empty() && v.scores.size() != n) || (!v.token_types.empty() && v.token_types.size() != n))
    throw ModelError("tokenizer scores/token_type arrays do not match the vocabulary size");
  v.bos_id = token_id(f, "tokenizer.ggml.bos_token_id", n);
  v.eos_id = token_id(f, "tokenizer.ggml.eos_token_id", n);
  v.unk_id = token_id(f, "tokenizer.ggml.unknown_token_id", n);
  v.pad_id = token_id(f, "tokenizer.ggml.padding_token_id", n);
  v.eot_id = token_id(f, "tokenizer.ggml.eot_token_id", n);
  const VocabFlagDefaults defaults = llama_cpp_flag_defaults(v.model, v.pre);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(defaults.add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(defaults.add_eos);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(defaults.add_space_prefix);
  return v;
}

}  // namespace loom
