// Numerically stable softmax over a row, in place: y = exp(x - max) / sum.
// -inf entries (masked) become 0; a row that is all -inf is left as all 0
// rather than NaN.
#pragma once
#include <cstdint>

namespace loom::cpu {

void softmax_inplace(float* x, int64_t n);

namespace ref {
void softmax_inplace(float* x, int64_t n);  // expf, float sum
}  // namespace ref

}  // namespace loom::cpu
