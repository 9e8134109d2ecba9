#include "kernels/cpu/f16.h"

namespace loom::cpu {

namespace avx2 {  // f16_avx2.cpp
void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n);
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n);
}  // namespace avx2

bool cpu_has_avx2_fma_f16c() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
  return has;
}

namespace ref {
void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}
void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}
}  // namespace ref

void fp16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::fp16_to_fp32_row(src, dst, n);
  ref::fp16_to_fp32_row(src, dst, n);
}

void fp32_to_fp16_row(const float* src, uint16_t* dst, int64_t n) {
  if (cpu_has_avx2_fma_f16c()) return avx2::fp32_to_fp16_row(src, dst, n);
  ref::fp32_to_fp16_row(src, dst, n);
}

void bf16_to_fp32_row(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(src[i]);  // a shift; compilers vectorize it
}

}  // namespace loom::cpu
