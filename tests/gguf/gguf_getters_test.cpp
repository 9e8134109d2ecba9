// Typed getters: integer widening across writer conventions, range checks,
// and wrong-type errors that name the key, the expected and the actual type.
#include <gtest/gtest.h>

#include "backends/common/gguf/gguf_file.h"
#include "tests/gguf/expect_gguf_error.h"
#include "tests/gguf/gguf_test_writer.h"

namespace loom {
namespace {

using test::array_of;

GgufFile make_file() {
  test::GgufTestWriter w;
  w.add<int32_t>("i32.pos", test::kI32, 576);
  w.add<int32_t>("i32.neg", test::kI32, -1);
  w.add<uint8_t>("u8", test::kU8, 9);
  w.add<uint64_t>("u64.big", test::kU64, 1ull << 35);
  w.add<uint64_t>("u64.max", test::kU64, UINT64_MAX);
  w.add<float>("f32", test::kF32, 1e-5f);
  w.add<double>("f64", test::kF64, 0.1);
  w.add_string("s", "gpt2");
  w.add<uint8_t>("b", test::kBool, 0);
  w.add_kv("strs", test::kArray, array_of<std::string>(test::kString, {"x"}));
  w.add_kv("u32s", test::kArray, array_of<uint32_t>(test::kU32, {1, 4000000000u}));
  w.add_kv("f64s", test::kArray, array_of<double>(test::kF64, {1.0}));
  return GgufFile::from_bytes(w.build(), "mem.gguf");
}

using test::expect_gguf_error;

TEST(GgufGetters, IntegersWidenWhenTheyFit) {
  GgufFile f = make_file();
  EXPECT_EQ(f.get_u32("i32.pos"), 576u);  // llama.cpp writers mix int32 and uint32
  EXPECT_EQ(f.get_u32("u8"), 9u);
  EXPECT_EQ(f.get_i64("i32.neg"), -1);
  EXPECT_EQ(f.get_u64("u64.big"), 1ull << 35);
  EXPECT_EQ(f.get_u64("u64.max"), UINT64_MAX);
  EXPECT_EQ(f.get_u32("absent"), std::nullopt);
  EXPECT_EQ(f.get_string("absent"), std::nullopt);
  EXPECT_EQ(f.get_array("absent"), nullptr);
}

TEST(GgufGetters, IntegersThatDoNotFitAreErrors) {
  GgufFile f = make_file();
  expect_gguf_error([&] { f.get_u32("i32.neg"); }, {"'i32.neg'", "-1", "uint32", "mem.gguf"});
  expect_gguf_error([&] { f.get_u32("u64.big"); }, {"'u64.big'", "uint32"});
  expect_gguf_error([&] { f.get_i64("u64.max"); }, {"'u64.max'", "int64"});
  expect_gguf_error([&] { f.get_i32_array("u32s"); }, {"'u32s'", "element 1", "int32"});
}

TEST(GgufGetters, FloatsAndBools) {
  GgufFile f = make_file();
  EXPECT_EQ(f.get_f32("f32"), 1e-5f);
  EXPECT_EQ(f.get_f64("f64"), 0.1);
  EXPECT_EQ(f.get_f32("f64"), 0.1f);
  EXPECT_EQ(f.get_bool("b"), false);
}

TEST(GgufGetters, WrongTypeNamesKeyExpectedAndActual) {
  GgufFile f = make_file();
  expect_gguf_error([&] { f.get_u32("s"); }, {"'s'", "string", "uint32", "mem.gguf"});
  expect_gguf_error([&] { f.get_u32("f32"); }, {"'f32'", "float32", "uint32"});
  expect_gguf_error([&] { f.get_string("i32.pos"); }, {"'i32.pos'", "int32", "expected string"});
  expect_gguf_error([&] { f.get_bool("u8"); }, {"'u8'", "uint8", "bool"});
  expect_gguf_error([&] { f.get_f32("s"); }, {"'s'", "string", "float32"});
  expect_gguf_error([&] { f.get_array("s"); }, {"'s'", "string", "array"});
  expect_gguf_error([&] { f.get_string_array("u32s"); },
                    {"'u32s'", "array[uint32]", "array[string]"});
  expect_gguf_error([&] { f.get_f32_array("f64s"); },
                    {"'f64s'", "array[float64]", "array[float32]"});
  expect_gguf_error([&] { f.get_i32_array("strs"); }, {"'strs'", "array[string]", "integer"});
  expect_gguf_error([&] { f.get_string_array("s"); }, {"'s'", "string", "array"});
}

TEST(GgufGetters, ArrayIndexOutOfRangeThrows) {
  GgufFile f = make_file();
  expect_gguf_error([&] { f.get_array("strs")->at(1); }, {"index 1", "1 elements"});
}

}  // namespace
}  // namespace loom
