// The real SmolLM2 file against what gguf-py's GGUFReader read from it
// (tests/fixtures/gguf/smollm2_metadata.json): every key, type and scalar,
// every array's type, length and first/last 3 items, every tensor's name,
// type, shape, offset and size.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/common/test_paths.h"
#include "tests/gguf/gguf_json_compare.h"

namespace loom {
namespace {

using nlohmann::json;

GgufFile open_model() {
  const std::string path = test::model_path();
  if (!std::filesystem::exists(path))
    throw std::runtime_error("model " + path + " is missing: run scripts/fetch_model.sh");
  return GgufFile::open(path);
}

class GgufModel : public testing::Test {
 protected:
  void SetUp() override {
    want_ = test::load_json(test::fixture_path("gguf/smollm2_metadata.json"));
    try {
      file_.emplace(open_model());
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
  }
  json want_;
  std::optional<GgufFile> file_;
};

TEST_F(GgufModel, Header) {
  EXPECT_EQ(file_->file_size(), want_["file_size"].get<uint64_t>());
  EXPECT_EQ(file_->version(), want_["version"].get<uint32_t>());
  EXPECT_EQ(file_->alignment(), want_["alignment"].get<uint32_t>());
  EXPECT_EQ(file_->data_offset(), want_["data_offset"].get<uint64_t>());
}

TEST_F(GgufModel, EveryMetadataKeyInOrder) {
  const json& order = want_["key_order"];
  ASSERT_EQ(file_->metadata().size(), order.size());
  for (size_t i = 0; i < order.size(); ++i)
    EXPECT_EQ(file_->metadata()[i].key, order[i].get<std::string>()) << "entry " << i;
}

void expect_array_eq(const GgufArray& a, const json& want, const std::string& key) {
  EXPECT_EQ(gguf_type_name(a.elem_type), want["elem_type"].get<std::string>()) << key;
  ASSERT_EQ(a.count, want["length"].get<uint64_t>()) << key;
  const json& first = want["first"];
  const json& last = want["last"];
  for (size_t i = 0; i < first.size(); ++i)
    test::expect_value_eq(a.at(i), first[i], key + "[" + std::to_string(i) + "]");
  for (size_t i = 0; i < last.size(); ++i) {
    const uint64_t at = a.count - last.size() + i;
    test::expect_value_eq(a.at(at), last[i], key + "[" + std::to_string(at) + "]");
  }
}

TEST_F(GgufModel, EveryMetadataValue) {
  for (const auto& [key, want] : want_["metadata"].items()) {
    const GgufValue* v = file_->find(key);
    ASSERT_NE(v, nullptr) << key;
    if (want["type"] == "array") {
      ASSERT_EQ(v->type(), GgufType::Array) << key;
      expect_array_eq(std::get<GgufArray>(v->v), want, key);
    } else {
      EXPECT_EQ(v->type_name(), want["type"].get<std::string>()) << key;
      test::expect_value_eq(*v, want["value"], key);
    }
  }
}

TEST_F(GgufModel, TypedGettersOnRealKeys) {
  EXPECT_EQ(file_->get_u32("llama.block_count"), want_["metadata"]["llama.block_count"]["value"]);
  EXPECT_EQ(file_->get_string("tokenizer.ggml.pre"), "smollm");
  auto tokens = file_->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->size(), 49152u);
  EXPECT_EQ(tokens->front(), want_["metadata"]["tokenizer.ggml.tokens"]["first"][0]);
  auto types = file_->get_i32_array("tokenizer.ggml.token_type");
  ASSERT_TRUE(types);
  EXPECT_EQ(types->back(), want_["metadata"]["tokenizer.ggml.token_type"]["last"][2]);
}

TEST_F(GgufModel, EveryTensor) {
  const json& tensors = want_["tensors"];
  ASSERT_EQ(file_->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const json& t = tensors[i];
    const GgufTensorInfo& info = file_->tensors()[i];
    SCOPED_TRACE(t["name"].get<std::string>());
    EXPECT_EQ(info.name, t["name"].get<std::string>());
    EXPECT_EQ(static_cast<uint32_t>(info.type), t["type_id"].get<uint32_t>());
    EXPECT_EQ(ggml_type_info(info.type).name, t["type"].get<std::string>());
    ASSERT_EQ(info.n_dims, t["ne"].size());
    for (uint32_t d = 0; d < 4; ++d)
      EXPECT_EQ(info.ne[d], d < info.n_dims ? t["ne"][d].get<uint64_t>() : 1u);
    EXPECT_EQ(info.offset, t["offset"].get<uint64_t>());
    EXPECT_EQ(info.n_bytes, t["n_bytes"].get<uint64_t>());
    EXPECT_EQ(file_->find_tensor(info.name), &info);
  }
}

}  // namespace
}  // namespace loom
