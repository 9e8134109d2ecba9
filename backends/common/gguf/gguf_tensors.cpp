// Tensor infos: every number a file gives is checked before it is used to
// compute a size, so n_bytes and offset + n_bytes cannot overflow or point
// outside the data section.
#include <cstdint>

#include "backends/common/gguf/gguf_parse.h"

namespace loom::gguf_detail {
namespace {

constexpr uint64_t kMaxElements = static_cast<uint64_t>(INT64_MAX);  // as ggml's int64 ne

std::string quoted(std::string_view name) {
  return "tensor '" + std::string(name) + "'";
}

const GgmlTypeInfo& read_ggml_type(Cursor& c, std::string_view name) {
  const uint64_t at = c.pos();
  const uint32_t id = c.read<uint32_t>("tensor type");
  const GgmlTypeInfo* info = ggml_type_info(id);
  if (!info) c.fail(quoted(name) + " has unknown ggml type id " + std::to_string(id), at);
  return *info;
}

// Element count and byte size, with the block-size and overflow checks.
void compute_size(Cursor& c, GgufTensorInfo& t, const GgmlTypeInfo& type, uint64_t at) {
  uint64_t n = 1;
  for (uint32_t d = 0; d < 4; ++d) {
    if (t.ne[d] > kMaxElements || __builtin_mul_overflow(n, t.ne[d], &n) || n > kMaxElements)
      c.fail(quoted(t.name) + " has too many elements (dim " + std::to_string(d) + " = " +
                 std::to_string(t.ne[d]) + ")",
             at);
  }
  t.n_elements = n;
  if (t.ne[0] % type.block_elems != 0)
    c.fail(quoted(t.name) + " row length " + std::to_string(t.ne[0]) + " is not a multiple of " +
               std::string(type.name) + "'s block size " + std::to_string(type.block_elems),
           at);
  // rows * ne[0] == n_elements <= 2^63; ggml_row_bytes is called only once
  // ne[0] / block_elems * block_bytes is known not to overflow.
  const uint64_t rows = t.ne[0] == 0 ? 0 : t.n_elements / t.ne[0];
  uint64_t row_bytes = 0;
  if (__builtin_mul_overflow(t.ne[0] / type.block_elems, uint64_t{type.block_bytes}, &row_bytes) ||
      __builtin_mul_overflow(uint64_t{*ggml_row_bytes(t.type, t.ne[0])}, rows, &t.n_bytes))
    c.fail(quoted(t.name) + " byte size overflows", at);
}

}  // namespace

GgufTensorInfo read_tensor_info(Cursor& c, uint32_t alignment) {
  const uint64_t at = c.pos();
  GgufTensorInfo t;
  t.name = std::string(c.read_string("tensor name"));
  c.set_context(quoted(t.name));
  t.n_dims = c.read<uint32_t>("tensor n_dims");
  if (t.n_dims < 1 || t.n_dims > 4)
    c.fail(quoted(t.name) + " has n_dims " + std::to_string(t.n_dims) + " (must be 1..4)", at);
  for (uint32_t d = 0; d < t.n_dims; ++d) t.ne[d] = c.read<uint64_t>("tensor dimension");
  const GgmlTypeInfo& type = read_ggml_type(c, t.name);
  t.type = type.type;
  const uint64_t offset_at = c.pos();
  t.offset = c.read<uint64_t>("tensor offset");
  compute_size(c, t, type, at);
  if (t.offset % alignment != 0)
    c.fail(quoted(t.name) + " offset " + std::to_string(t.offset) +
               " is not a multiple of the alignment " + std::to_string(alignment),
           offset_at);
  return t;
}

void validate_tensors(Contents& out, const std::vector<uint64_t>& info_offsets, const Cursor& c) {
  const uint64_t file_size = c.size();
  if (!out.tensors.empty() && out.data_offset > file_size)
    c.fail("data section starts at byte " + std::to_string(out.data_offset) +
               ", past the end of the file (" + std::to_string(file_size) + " bytes)",
           out.data_offset);
  const uint64_t data_size = file_size - std::min(out.data_offset, file_size);
  out.tensor_index.reserve(out.tensors.size());
  for (size_t i = 0; i < out.tensors.size(); ++i) {
    const GgufTensorInfo& t = out.tensors[i];
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      c.fail(quoted(t.name) + " data [" + std::to_string(t.offset) + ", +" +
                 std::to_string(t.n_bytes) + ") runs past the end of the data section (" +
                 std::to_string(data_size) + " bytes)",
             info_offsets[i]);
    if (!out.tensor_index.emplace(t.name, i).second)
      c.fail("duplicate " + quoted(t.name), info_offsets[i]);
  }
}

}  // namespace loom::gguf_detail
