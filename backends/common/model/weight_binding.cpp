// Binding one tensor of a mapped GGUF file with its shape and type checked:
// the pieces every family's weight binding (llama_weights, gemma3_weights)
// is made of. Each throws ModelError naming the tensor.
#include "backends/common/model/weight_binding.h"

#include "backends/common/gguf/gguf_file.h"

namespace loom::detail {
namespace {

std::string shape_string(const GgufTensorInfo& t) {
  std::string s = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + "]";
}

const GgufTensorInfo& require(const GgufFile& f, const std::string& name) {
  const auto* t = f.find_tensor(name);
  if (!t) throw ModelError("model lacks tensor '" + name + "' (" + f.path() + ")");
  return *t;
}

void check_shape(const GgufTensorInfo& t, int64_t ne0, int64_t ne1) {
  if (static_cast<int64_t>(t.ne[0]) != ne0 || static_cast<int64_t>(t.ne[1]) != ne1 || t.ne[2] != 1 ||
      t.ne[3] != 1)
    throw ModelError("tensor '" + t.name + "' has shape " + shape_string(t) + ", expected [" +
                     std::to_string(ne0) + ", " + std::to_string(ne1) + "]");
}

// "F32 F16 ...": the types Loom computes with, for error messages.
std::string supported_types() {
  std::string names;
  for (const auto& info : kGgmlTypes)
    if (info.supported) names += (names.empty() ? "" : " ") + std::string(info.name);
  return names;
}

}  // namespace

// A matrix of `rows` outputs over `cols` inputs (ggml ne = [cols, rows]).
WeightView matrix(const GgufFile& f, const std::string& name, int64_t rows, int64_t cols) {
  const auto& t = require(f, name);
  check_shape(t, cols, rows);
  if (!ggml_type_info(t.type).supported)
    throw ModelError("tensor '" + name + "' has type " + std::string(ggml_type_info(t.type).name) +
                     ", which Loom cannot compute with (supported: " + supported_types() + ")");
  return WeightView{t.type, f.tensor_data(t), rows, cols, t.n_bytes / static_cast<size_t>(rows)};
}

const float* vector_f32(const GgufFile& f, const std::string& name, int64_t n, bool optional) {
  const auto* t = f.find_tensor(name);
  if (!t) {
    if (optional) return nullptr;
    throw ModelError("model lacks tensor '" + name + "' (" + f.path() + ")");
  }
  check_shape(*t, n, 1);
  if (t->type != GgmlType::F32)
    throw ModelError("tensor '" + name + "' must be F32, found " + std::string(ggml_type_info(t->type).name));
  return reinterpret_cast<const float*>(f.tensor_data(*t));
}

}  // namespace loom::detail
