// Round trip: files built by the spec-based test writer read back with the
// values and tensor bytes the writer was given.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "backends/common/gguf/gguf_file.h"
#include "tests/gguf/gguf_test_writer.h"

namespace loom {
namespace {

using test::array_of;
using test::Enc;
using test::GgufTestWriter;
using test::pattern;
using test::TestTensor;

// Byte sizes worked out by hand from the ggml block layouts:
// F32 4 B/elem, F16 2 B/elem, Q4_1 20 B per 32, Q8_0 34 B per 32, Q4_K 144 B per 256.
GgufTestWriter every_type_writer(uint32_t version) {
  GgufTestWriter w;
  w.version = version;
  w.add_string("general.architecture", "llama");
  w.add<uint8_t>("t.u8", test::kU8, 200);
  w.add<int8_t>("t.i8", test::kI8, -100);
  w.add<uint16_t>("t.u16", test::kU16, 60000);
  w.add<int16_t>("t.i16", test::kI16, -30000);
  w.add<uint32_t>("t.u32", test::kU32, 4000000000u);
  w.add<int32_t>("t.i32", test::kI32, -2000000000);
  w.add<float>("t.f32", test::kF32, 3.25f);
  w.add<uint8_t>("t.bool", test::kBool, 1);
  w.add_string("t.string", "h\xC3\xA9llo \xE2\x9C\x93");
  w.add<uint64_t>("t.u64", test::kU64, (1ull << 40) + 5);
  w.add<int64_t>("t.i64", test::kI64, -(1ll << 40));
  w.add<double>("t.f64", test::kF64, 3.141592653589793);
  w.add<int32_t>("t.i32_small", test::kI32, 7);
  w.add_kv("a.u8", test::kArray, array_of<uint8_t>(test::kU8, {1, 2, 255}));
  w.add_kv("a.i32", test::kArray, array_of<int32_t>(test::kI32, {-1, 0, 2147483647}));
  w.add_kv("a.f32", test::kArray, array_of<float>(test::kF32, {0.5f, -2.0f, 1e-6f}));
  w.add_kv("a.f64", test::kArray, array_of<double>(test::kF64, {1e300, -0.25}));
  w.add_kv("a.u64", test::kArray, array_of<uint64_t>(test::kU64, {1ull << 63}));
  w.add_kv("a.bool", test::kArray, array_of<uint8_t>(test::kBool, {1, 0, 1}));
  w.add_kv("a.str", test::kArray, array_of<std::string>(test::kString, {"a", "", "<|im_end|>"}));
  w.add_kv("a.empty", test::kArray, array_of<int16_t>(test::kI16, {}));
  // [[1, 2], [], [3]] as an array of uint16 arrays.
  Enc nested;
  nested.pod<uint32_t>(test::kArray).pod<uint64_t>(3);
  nested.bytes(array_of<uint16_t>(test::kU16, {1, 2}));
  nested.bytes(array_of<uint16_t>(test::kU16, {}));
  nested.bytes(array_of<uint16_t>(test::kU16, {3}));
  w.add_kv("a.nested", test::kArray, nested.b);

  w.add_tensor({"f32", {4, 3}, 0, pattern(4 * 3 * 4, 1)});
  w.add_tensor({"f16", {8}, 1, pattern(8 * 2, 2)});
  w.add_tensor({"q4_1", {64, 2}, 3, pattern(2 * 2 * 20, 3)});
  w.add_tensor({"q8_0.4d", {32, 1, 1, 2}, 8, pattern(2 * 34, 4)});
  w.add_tensor({"q4_k", {256}, 12, pattern(144, 5)});
  return w;
}

void check_every_type(const GgufFile& f) {
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(std::get<uint8_t>(f.find("t.u8")->v), 200);
  EXPECT_EQ(std::get<int8_t>(f.find("t.i8")->v), -100);
  EXPECT_EQ(std::get<uint16_t>(f.find("t.u16")->v), 60000);
  EXPECT_EQ(std::get<int16_t>(f.find("t.i16")->v), -30000);
  EXPECT_EQ(f.get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_i32("t.i32"), -2000000000);
  EXPECT_EQ(f.get_f32("t.f32"), 3.25f);
  EXPECT_EQ(f.get_bool("t.bool"), true);
  EXPECT_EQ(f.get_string("t.string"), "h\xC3\xA9llo \xE2\x9C\x93");
  EXPECT_EQ(f.get_u64("t.u64"), (1ull << 40) + 5);
  EXPECT_EQ(f.get_i64("t.i64"), -(1ll << 40));
  EXPECT_EQ(f.get_f64("t.f64"), 3.141592653589793);
  EXPECT_EQ(f.find("t.f64")->type(), GgufType::F64);

  EXPECT_EQ(f.get_i32_array("a.u8"), (std::vector<int32_t>{1, 2, 255}));
  EXPECT_EQ(f.get_i32_array("a.i32"), (std::vector<int32_t>{-1, 0, 2147483647}));
  EXPECT_EQ(f.get_f32_array("a.f32"), (std::vector<float>{0.5f, -2.0f, 1e-6f}));
  const GgufArray* f64 = f.get_array("a.f64");
  ASSERT_NE(f64, nullptr);
  EXPECT_EQ(std::get<double>(f64->at(0).v), 1e300);
  EXPECT_EQ(std::get<double>(f64->at(1).v), -0.25);
  EXPECT_EQ(std::get<uint64_t>(f.get_array("a.u64")->at(0).v), 1ull << 63);
  const GgufArray* b = f.get_array("a.bool");
  ASSERT_EQ(b->count, 3u);
  EXPECT_EQ(std::get<bool>(b->at(0).v), true);
  EXPECT_EQ(std::get<bool>(b->at(1).v), false);
  EXPECT_EQ(f.get_string_array("a.str"), (std::vector<std::string>{"a", "", "<|im_end|>"}));
  EXPECT_EQ(f.get_array("a.empty")->count, 0u);
  EXPECT_EQ(f.get_array("a.empty")->elem_type, GgufType::I16);

  const GgufArray* n = f.get_array("a.nested");
  ASSERT_EQ(n->elem_type, GgufType::Array);
  ASSERT_EQ(n->count, 3u);
  EXPECT_EQ(n->type_name(), "array[array[uint16]]");
  EXPECT_EQ(n->arrays[0].count, 2u);
  EXPECT_EQ(std::get<uint16_t>(n->arrays[0].at(1).v), 2);
  EXPECT_EQ(n->arrays[1].count, 0u);
  EXPECT_EQ(std::get<uint16_t>(std::get<GgufArray>(n->at(2).v).at(0).v), 3);
  EXPECT_EQ(f.metadata().size(), 23u);
  EXPECT_EQ(f.metadata()[1].key, "t.u8");  // file order kept
}

void check_tensors(const GgufFile& f, GgufTestWriter& w) {
  struct Want {
    const char* name;
    uint32_t n_dims;
    std::array<uint64_t, 4> ne;
    GgmlType type;
    uint64_t n_bytes;
    uint8_t seed;
  };
  const Want want[] = {
      {"f32", 2, {4, 3, 1, 1}, GgmlType::F32, 48, 1},
      {"f16", 1, {8, 1, 1, 1}, GgmlType::F16, 16, 2},
      {"q4_1", 2, {64, 2, 1, 1}, GgmlType::Q4_1, 80, 3},
      {"q8_0.4d", 4, {32, 1, 1, 2}, GgmlType::Q8_0, 68, 4},
      {"q4_k", 1, {256, 1, 1, 1}, GgmlType::Q4_K, 144, 5},
  };
  ASSERT_EQ(f.tensors().size(), 5u);
  EXPECT_EQ(f.data_offset(), w.data_start());
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(want[i].name);
    const GgufTensorInfo* t = f.find_tensor(want[i].name);
    ASSERT_EQ(t, &f.tensors()[i]);
    EXPECT_EQ(t->n_dims, want[i].n_dims);
    EXPECT_EQ(t->ne, want[i].ne);
    EXPECT_EQ(t->type, want[i].type);
    EXPECT_EQ(t->n_bytes, want[i].n_bytes);
    EXPECT_EQ(t->offset, w.tensor_offsets()[i]);
    EXPECT_EQ(t->offset % 32, 0u);
    const auto expect = pattern(want[i].n_bytes, want[i].seed);
    auto got = f.tensor_bytes(*t);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expect.begin(), expect.end()));
  }
  EXPECT_EQ(f.find_tensor("missing"), nullptr);
}

TEST(GgufRoundTrip, EveryValueTypeV3) {
  auto w = every_type_writer(3);
  GgufFile f = GgufFile::from_bytes(w.build());
  EXPECT_EQ(f.version(), 3u);
  check_every_type(f);
  check_tensors(f, w);
}

TEST(GgufRoundTrip, EveryValueTypeV2) {
  auto w = every_type_writer(2);
  GgufFile f = GgufFile::from_bytes(w.build());
  EXPECT_EQ(f.version(), 2u);
  check_every_type(f);
  check_tensors(f, w);
}

TEST(GgufRoundTrip, MoveKeepsViewsValid) {
  auto w = every_type_writer(3);
  GgufFile a = GgufFile::from_bytes(w.build());
  const uint8_t* data = a.tensor_data(a.tensors()[0]);
  GgufFile b = std::move(a);
  EXPECT_EQ(b.tensor_data(b.tensors()[0]), data);
  check_every_type(b);
}

TEST(GgufRoundTrip, OpenMapsAFile) {
  auto w = every_type_writer(3);
  const auto bytes = w.build();
  const std::string path = testing::TempDir() + "/loom_gguf_roundtrip.gguf";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  {
    GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.path(), path);
    EXPECT_EQ(f.file_size(), bytes.size());
    check_every_type(f);
    check_tensors(f, w);
    EXPECT_NE(f.describe().find("Q4_K x1"), std::string::npos) << f.describe();
  }
  std::remove(path.c_str());
}

TEST(GgufRoundTrip, OpenMissingFileNamesIt) {
  try {
    GgufFile::open("/nonexistent/loom.gguf");
    FAIL() << "no error";
  } catch (const GgufError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/loom.gguf"), std::string::npos);
  }
}

TEST(GgufRoundTrip, CustomAlignment) {
  GgufTestWriter w;
  w.alignment = 64;
  w.add<uint32_t>("general.alignment", test::kU32, 64);
  w.add_tensor({"a", {3}, 0, pattern(12, 1)});
  w.add_tensor({"b", {5}, 0, pattern(20, 2)});
  GgufFile f = GgufFile::from_bytes(w.build());
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.find_tensor("b")->offset, 64u);
  EXPECT_EQ(f.tensor_bytes(*f.find_tensor("b"))[0], pattern(1, 2)[0]);
}

TEST(GgufRoundTrip, ZeroSizedDimensionIsEmptyTensor) {
  GgufTestWriter w;
  w.add_tensor({"empty", {32, 0}, 8, {}});
  w.add_tensor({"x", {1}, 0, pattern(4, 1)});
  GgufFile f = GgufFile::from_bytes(w.build());
  EXPECT_EQ(f.find_tensor("empty")->n_elements, 0u);
  EXPECT_EQ(f.find_tensor("empty")->n_bytes, 0u);
}

TEST(GgufRoundTrip, NoTensorsNoData) {
  GgufTestWriter w;
  w.add_string("general.architecture", "none");
  GgufFile f = GgufFile::from_bytes(w.build());
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.get_string("general.architecture"), "none");
}

}  // namespace
}  // namespace loom
