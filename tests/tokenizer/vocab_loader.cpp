#include "tests/tokenizer/vocab_loader.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "backends/common/gguf/gguf_file.h"

namespace loom::test {

VocabData load_vocab_from_gguf(const std::string& path) {
  const GgufFile f = GgufFile::open(path);
  VocabData v;
  v.model = f.get_string("tokenizer.ggml.model").value_or("");
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("");
  v.tokens = f.get_string_array("tokenizer.ggml.tokens").value_or(std::vector<std::string>{});
  v.scores = f.get_f32_array("tokenizer.ggml.scores").value_or(std::vector<float>{});
  v.token_types = f.get_i32_array("tokenizer.ggml.token_type").value_or(std::vector<int32_t>{});
  v.merges = f.get_string_array("tokenizer.ggml.merges").value_or(std::vector<std::string>{});
  const auto id = [&](const char* key) {
    const auto x = f.get_u32(key);
    return x ? static_cast<int32_t>(*x) : -1;
  };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.unk_id = id("tokenizer.ggml.unknown_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  v.eot_id = id("tokenizer.ggml.eot_token_id");
  const VocabFlagDefaults d = llama_cpp_flag_defaults(v.model, v.pre);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(d.add_bos);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(d.add_eos);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(d.add_space_prefix);
  return v;
}

VocabData load_vocab_from_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  const auto j = nlohmann::json::parse(in);
  VocabData v;
  v.model = j.at("model");
  v.tokens = j.at("tokens").get<std::vector<std::string>>();
  v.scores = j.at("scores").get<std::vector<float>>();
  v.token_types = j.at("token_types").get<std::vector<int32_t>>();
  v.bos_id = j.at("bos_id");
  v.eos_id = j.at("eos_id");
  v.unk_id = j.at("unk_id");
  v.add_bos = j.at("add_bos");
  v.add_space_prefix = j.at("add_space_prefix");
  return v;
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace loom::test
