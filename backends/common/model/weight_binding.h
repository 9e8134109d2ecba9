// Binding one tensor of a mapped GGUF file in place, shape and type checked:
// the pieces each family's weight binding is made of. Internal to
// backends/common/model.
#pragma once
#include <cstdint>
#include <string>

#include "backends/common/model/model_config.h"
#include "kernels/cpu/matmul.h"

namespace loom {
class GgufFile;
}

namespace loom::detail {

// A matrix of `rows` outputs over `cols` inputs (ggml ne = [cols, rows]) in a
// type the kernels compute with.
WeightView matrix(const GgufFile& f, const std::string& name, int64_t rows, int64_t cols);

// An F32 vector of n elements; nullptr when `optional` and absent.
const float* vector_f32(const GgufFile& f, const std::string& name, int64_t n, bool optional = false);

}  // namespace loom::detail
