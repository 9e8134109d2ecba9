// Element type of an activation buffer written by an op (fp16 for the
// residual stream, fp32 for logits).
#pragma once

#include <cstdint>

namespace loom::cuda {

enum class ActType : int32_t { kF16 = 0, kF32 = 1 };

}  // namespace loom::cuda
