// RMSNorm as llama.cpp computes it (ggml_compute_forward_rms_norm_f32 fused
// with the weight multiply): per row, sum of x*x (product in float, sum in
// double), mean = float(sum / dim), scale = 1 / sqrtf(mean + eps),
// y = (x * scale) * w in float.
#pragma once
#include <cstdint>

namespace loom::cpu {

// x, y: [n_rows][dim] row-major (y may alias x); weight: [dim].
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps);

namespace ref {
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t dim, float eps);
}  // namespace ref

}  // namespace loom::cpu
