// Hostile input: every malformed file must give a GgufError that says what
// and where, never a crash, a huge allocation or an out-of-bounds read
// (run under LOOM_SANITIZE=ON to check the last two).
#include <gtest/gtest.h>

#include "backends/common/gguf/gguf_file.h"
#include "tests/gguf/expect_gguf_error.h"
#include "tests/gguf/gguf_test_writer.h"

namespace loom {
namespace {

using test::array_of;
using test::Enc;
using test::expect_gguf_error;
using test::GgufTestWriter;
using test::pattern;
using test::TestTensor;

GgufTestWriter valid_writer() {
  GgufTestWriter w;
  w.add_string("general.architecture", "llama");
  w.add<uint32_t>("n", test::kU32, 5);
  w.add_kv("toks", test::kArray, array_of<std::string>(test::kString, {"a", "bc"}));
  w.add_kv("ids", test::kArray, array_of<int32_t>(test::kI32, {1, 2}));
  w.add_tensor({"w", {32, 2}, 8, pattern(68, 1)});  // Q8_0: 34 B per 32
  w.add_tensor({"n", {4}, 0, pattern(16, 2)});
  return w;
}

std::vector<uint8_t> build(GgufTestWriter w) {
  return w.build();
}
void parse(std::vector<uint8_t> b) {
  GgufFile::from_bytes(std::move(b), "bad.gguf");
}

TEST(GgufCorrupt, ValidBaselineParses) {
  EXPECT_NO_THROW(parse(build(valid_writer())));
}

TEST(GgufCorrupt, EveryTruncationIsAnError) {
  const auto full = build(valid_writer());
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE("truncated to " + std::to_string(n));
    expect_gguf_error([&] { parse({full.begin(), full.begin() + n}); }, {"at byte", "bad.gguf"});
  }
}

TEST(GgufCorrupt, BadMagic) {
  auto b = build(valid_writer());
  b[0] = 'X';
  expect_gguf_error([&] { parse(b); }, {"bad magic", "at byte 0"});
}

TEST(GgufCorrupt, VersionsOtherThan2And3) {
  for (uint32_t v : {0u, 1u, 4u, 0x03000000u}) {
    auto w = valid_writer();
    w.version = v;
    expect_gguf_error([&] { parse(build(w)); }, {"version " + std::to_string(v), "at byte 4"});
  }
  auto w = valid_writer();
  w.version = 0x03000000u;
  expect_gguf_error([&] { parse(build(w)); }, {"big-endian"});
}

TEST(GgufCorrupt, HugeCounts) {
  auto w = valid_writer();
  w.n_kv_override = 1ull << 62;
  expect_gguf_error([&] { parse(build(w)); }, {"metadata count", "cannot fit"});
  w = valid_writer();
  w.n_tensors_override = UINT64_MAX;
  expect_gguf_error([&] { parse(build(w)); }, {"tensor count", "cannot fit"});
  w = valid_writer();
  w.n_tensors_override = 3;  // one more than there are: runs into the data section
  expect_gguf_error([&] { parse(build(w)); }, {"at byte"});
}

TEST(GgufCorrupt, StringLengthPastEnd) {
  GgufTestWriter w;
  w.add_kv("s", test::kString, Enc().pod<uint64_t>(1ull << 60).b);
  expect_gguf_error([&] { parse(build(w)); }, {"string value length", "exceeds", "key 's'"});
  GgufTestWriter k;  // a key whose length is absurd
  k.add_kv("", test::kU8, {});
  auto b = build(k);
  b[24 + 7] = 0x7f;  // high byte of the first key's length
  expect_gguf_error([&] { parse(b); }, {"key length", "at byte 24"});
}

TEST(GgufCorrupt, ArrayCountsPastEnd) {
  for (uint32_t elem : {test::kU32, test::kString, test::kArray, test::kF64}) {
    GgufTestWriter w;
    w.add_kv("a", test::kArray, Enc().pod<uint32_t>(elem).pod<uint64_t>(1ull << 61).b);
    expect_gguf_error([&] { parse(build(w)); }, {"array length", "cannot fit", "key 'a'"});
  }
}

TEST(GgufCorrupt, UnknownValueTypes) {
  GgufTestWriter w;
  w.add_kv("v", 13, Enc().pod<uint32_t>(0).b);
  expect_gguf_error([&] { parse(build(w)); }, {"unknown value type 13", "key 'v'"});
  GgufTestWriter a;
  a.add_kv("a", test::kArray, Enc().pod<uint32_t>(99).pod<uint64_t>(0).b);
  expect_gguf_error([&] { parse(build(a)); }, {"unknown array element type 99"});
}

TEST(GgufCorrupt, BoolMustBeZeroOrOne) {
  GgufTestWriter w;
  w.add<uint8_t>("b", test::kBool, 2);
  expect_gguf_error([&] { parse(build(w)); }, {"bool value 2", "key 'b'"});
  GgufTestWriter a;
  a.add_kv("a", test::kArray, array_of<uint8_t>(test::kBool, {0, 7}));
  expect_gguf_error([&] { parse(build(a)); }, {"element 1"});
}

TEST(GgufCorrupt, DeeplyNestedArrays) {
  Enc e;
  for (int i = 0; i < 100; ++i) e.pod<uint32_t>(test::kArray).pod<uint64_t>(1);
  e.pod<uint32_t>(test::kU8).pod<uint64_t>(0);
  GgufTestWriter w;
  w.add_kv("deep", test::kArray, e.b);
  expect_gguf_error([&] { parse(build(w)); }, {"nested deeper"});
}

TEST(GgufCorrupt, DuplicateKey) {
  auto w = valid_writer();
  w.add<uint32_t>("n", test::kU32, 6);
  expect_gguf_error([&] { parse(build(w)); }, {"duplicate key", "'n'"});
}

TEST(GgufCorrupt, BadAlignment) {
  for (uint32_t a : {0u, 3u, 48u}) {
    auto w = valid_writer();
    w.add<uint32_t>("general.alignment", test::kU32, a);
    expect_gguf_error([&] { parse(build(w)); }, {"general.alignment " + std::to_string(a)});
  }
  auto w = valid_writer();
  w.add_string("general.alignment", "32");
  expect_gguf_error([&] { parse(build(w)); }, {"general.alignment", "string"});
}

// One tensor over a valid base file; f edits it before building.
template <typename F>
std::vector<uint8_t> with_tensor(F&& f) {
  GgufTestWriter w;
  TestTensor t{"blk.0.w", {32, 2}, 3, pattern(80, 1)};  // Q4_1: 20 B per 32
  f(t);
  w.add_tensor(t);
  return w.build();
}

TEST(GgufCorrupt, TensorOffsetPastEnd) {
  auto b = with_tensor([](TestTensor& t) { t.offset = 1 << 20; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "past the end"});
  auto huge = with_tensor([](TestTensor& t) { t.offset = UINT64_MAX - 31; });
  expect_gguf_error([&] { parse(huge); }, {"'blk.0.w'", "past the end"});
  auto long_rows = with_tensor([](TestTensor& t) { t.ne = {32, 5}; });  // 100 B, 80 written
  expect_gguf_error([&] { parse(long_rows); }, {"'blk.0.w'", "past the end"});
}

TEST(GgufCorrupt, MisalignedOffset) {
  auto b = with_tensor([](TestTensor& t) { t.offset = 4; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "offset 4", "alignment 32"});
}

TEST(GgufCorrupt, UnknownTensorType) {
  auto b = with_tensor([](TestTensor& t) { t.type = 4; });  // Q4_2, removed from ggml
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "unknown ggml type id 4"});
  b = with_tensor([](TestTensor& t) { t.type = 1000; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "type id 1000"});
}

TEST(GgufCorrupt, BadDims) {
  auto five = with_tensor([](TestTensor& t) { t.ne = {32, 1, 1, 1, 2}; });
  expect_gguf_error([&] { parse(five); }, {"n_dims 5"});
  auto zero = with_tensor([](TestTensor& t) { t.ne = {}; });
  expect_gguf_error([&] { parse(zero); }, {"n_dims 0"});
  auto huge = with_tensor([](TestTensor& t) { t.n_dims = 0xFFFFFFFF; });
  expect_gguf_error([&] { parse(huge); }, {"n_dims 4294967295"});
}

TEST(GgufCorrupt, RowNotWholeBlocks) {
  auto b = with_tensor([](TestTensor& t) { t.ne = {33, 2}; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "row length 33", "Q4_1", "32"});
}

TEST(GgufCorrupt, ElementCountOverflow) {
  auto b = with_tensor([](TestTensor& t) { t.ne = {1ull << 32, 1ull << 32}; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "too many elements"});
  b = with_tensor([](TestTensor& t) { t.ne = {32, UINT64_MAX}; });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "too many elements"});
  // ne[0] = 0 must not hide an overflowing product of the other dims.
  b = with_tensor([](TestTensor& t) { t.ne = {0, 1ull << 40, 1ull << 40}; });
  EXPECT_NO_THROW(parse(b));  // zero elements: a valid empty tensor
}

TEST(GgufCorrupt, BytesOverflowForWideTypes) {
  // 2^62 F64 elements: n_elements fits int64, n_bytes = 2^65 does not.
  auto b = with_tensor([](TestTensor& t) {
    t.ne = {1ull << 62};
    t.type = 28;
  });
  expect_gguf_error([&] { parse(b); }, {"'blk.0.w'", "overflows"});
}

TEST(GgufCorrupt, DuplicateTensorNames) {
  GgufTestWriter w;
  w.add_tensor({"same", {4}, 0, pattern(16, 1)});
  w.add_tensor({"same", {4}, 0, pattern(16, 2)});
  expect_gguf_error([&] { parse(build(w)); }, {"duplicate tensor 'same'"});
}

TEST(GgufCorrupt, NewlineInNameKeepsOneLine) {
  auto b = with_tensor([](TestTensor& t) {
    t.name = "a\nb";
    t.type = 1000;
  });
  expect_gguf_error([&] { parse(b); }, {"'a b'"});
}

}  // namespace
}  // namespace loom
