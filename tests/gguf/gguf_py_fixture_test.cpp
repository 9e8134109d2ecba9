// Reads the GGUF that gguf-py's GGUFWriter wrote (tests/fixtures/gguf/
// gguf_py_synthetic.bin) and checks every value against what the script
// handed the writer (gguf_py_synthetic.json): a writer no one here wrote.
#include <gtest/gtest.h>

#include "tests/common/test_paths.h"
#include "tests/gguf/gguf_json_compare.h"

namespace loom {
namespace {

using nlohmann::json;

struct Fixture {
  GgufFile file = GgufFile::open(test::fixture_path("gguf/gguf_py_synthetic.bin"));
  json want = test::load_json(test::fixture_path("gguf/gguf_py_synthetic.json"));
};

TEST(GgufPyFixture, Scalars) {
  Fixture f;
  EXPECT_EQ(f.file.get_string("general.architecture"), "synthetic");
  for (const auto& s : f.want["scalars"]) {
    const std::string key = s["key"];
    const GgufValue* v = f.file.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->type_name(), s["type"].get<std::string>()) << key;
    test::expect_value_eq(*v, s["value"], key);
  }
}

TEST(GgufPyFixture, Arrays) {
  Fixture f;
  for (const auto& a : f.want["arrays"]) {
    const std::string key = a["key"];
    const GgufArray* arr = f.file.get_array(key);
    ASSERT_NE(arr, nullptr) << key;
    EXPECT_EQ(gguf_type_name(arr->elem_type), a["elem_type"].get<std::string>()) << key;
    ASSERT_EQ(arr->count, a["values"].size()) << key;
    for (size_t i = 0; i < arr->count; ++i)
      test::expect_value_eq(arr->at(i), a["values"][i], key + "[" + std::to_string(i) + "]");
  }
  EXPECT_EQ(f.file.get_i32_array("a.i32"), (std::vector<int32_t>{-3, 0, 7, 2147483647}));
}

TEST(GgufPyFixture, NestedArray) {
  Fixture f;
  const json& n = f.want["nested"];
  const GgufArray* arr = f.file.get_array(n["key"].get<std::string>());
  ASSERT_NE(arr, nullptr);
  ASSERT_EQ(arr->elem_type, GgufType::Array);
  ASSERT_EQ(arr->count, n["values"].size());
  for (size_t i = 0; i < arr->count; ++i) {
    const GgufArray& inner = arr->arrays[i];
    EXPECT_EQ(gguf_type_name(inner.elem_type), n["elem_type"].get<std::string>());
    ASSERT_EQ(inner.count, n["values"][i].size());
    for (size_t j = 0; j < inner.count; ++j)
      test::expect_value_eq(inner.at(j), n["values"][i][j], "nested");
  }
}

std::string to_hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) s += {digits[b >> 4], digits[b & 15]};
  return s;
}

TEST(GgufPyFixture, Tensors) {
  Fixture f;
  ASSERT_EQ(f.file.tensors().size(), f.want["tensors"].size());
  for (const auto& t : f.want["tensors"]) {
    const std::string name = t["name"];
    const GgufTensorInfo* info = f.file.find_tensor(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(ggml_type_info(info->type).name, t["type"].get<std::string>()) << name;
    ASSERT_EQ(info->n_dims, t["ne"].size()) << name;
    for (uint32_t d = 0; d < info->n_dims; ++d) EXPECT_EQ(info->ne[d], t["ne"][d]) << name;
    EXPECT_EQ(to_hex(f.file.tensor_bytes(*info)), t["hex"].get<std::string>()) << name;
  }
}

}  // namespace
}  // namespace loom
