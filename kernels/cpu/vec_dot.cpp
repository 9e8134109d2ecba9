#include "kernels/cpu/vec_dot.h"

#include <string>

#include "kernels/cpu/vec_dot_kernels.h"

namespace loom {
namespace {

struct DotRow {
  GgmlType type;
  VecDotFn scalar, avx2, avx512;  // nullptr: use the next narrower ISA
};

constexpr DotRow kDots[] = {
    {GgmlType::F32, scalar::dot_f32, avx2::dot_f32, avx512::dot_f32},
    {GgmlType::F16, scalar::dot_f16, avx2::dot_f16, avx512::dot_f16},
    {GgmlType::BF16, scalar::dot_bf16, avx2::dot_bf16, avx512::dot_bf16},
    {GgmlType::Q4_0, scalar::dot_q4_0_q8_0, avx2::dot_q4_0_q8_0, avx512::dot_q4_0_q8_0},
    {GgmlType::Q4_1, scalar::dot_q4_1_q8_1, avx2::dot_q4_1_q8_1, avx512::dot_q4_1_q8_1},
    {GgmlType::Q5_0, scalar::dot_q5_0_q8_0, avx2::dot_q5_0_q8_0, avx512::dot_q5_0_q8_0},
    {GgmlType::Q8_0, scalar::dot_q8_0_q8_0, avx2::dot_q8_0_q8_0, avx512::dot_q8_0_q8_0},
    {GgmlType::Q4_K, scalar::dot_q4_k_q8_k, avx2::dot_q4_k_q8_k, avx512::dot_q4_k_q8_k},
    {GgmlType::Q5_K, scalar::dot_q5_k_q8_k, avx2::dot_q5_k_q8_k, avx512::dot_q5_k_q8_k},
    {GgmlType::Q6_K, scalar::dot_q6_k_q8_k, avx2::dot_q6_k_q8_k, avx512::dot_q6_k_q8_k},
};

}  // namespace

VecDotFn vec_dot_fn(GgmlType weight_type, Isa isa) {
  if (!isa_supported(isa))
    throw KernelError("vec_dot_fn: ISA " + std::string(isa_name(isa)) + " not supported by this CPU");
  for (const DotRow& row : kDots) {
    if (row.type != weight_type) continue;
    if (isa == Isa::Avx512 && row.avx512) return row.avx512;
    if (isa != Isa::Scalar && row.avx2) return row.avx2;
    return row.scalar;
  }
  throw KernelError("vec_dot_fn: no dot kernel for weight type " +
                    std::string(ggml_type_info(weight_type).name));
}

int64_t batch_head_tokens(GgmlType weight_type, int64_t n_tokens) {
  switch (weight_type) {
    case GgmlType::Q4_K: return n_tokens - n_tokens % 4;
    case GgmlType::Q6_K: return n_tokens >= 8 ? n_tokens : 0;
    default: return 0;
  }
}

BatchDots batch_dots(GgmlType weight_type, Isa isa, int64_t n_tokens) {
  const VecDotFn tail = vec_dot_fn(weight_type, isa);
  // One-row head kernels: AVX-512 runs these batches through its GEMM panels,
  // so its one-row case (a panel that cannot be used) is AVX2's.
  const bool scalar = isa == Isa::Scalar;
  switch (weight_type) {
    case GgmlType::Q4_K:
      return {scalar ? scalar::dot_q4_k_q8_k_grouped : avx2::dot_q4_k_q8_k_grouped,
              batch_head_tokens(weight_type, n_tokens), tail};
    case GgmlType::Q6_K:
      return {scalar ? scalar::dot_q6_k_q8_k_tiled : avx2::dot_q6_k_q8_k_tiled, batch_head_tokens(weight_type, n_tokens),
              tail};
    default: return {tail, 0, tail};
  }
}

const GemmKernel* gemm_kernel(GgmlType weight_type, Isa isa) {
  if (isa != Isa::Avx512 || !isa_supported(isa)) return nullptr;
  switch (weight_type) {
    case GgmlType::Q4_0: return &avx512::kGemmQ4_0;
    case GgmlType::Q4_1: return &avx512::kGemmQ4_1;
    case GgmlType::Q5_0: return &avx512::kGemmQ5_0;
    case GgmlType::Q8_0: return &avx512::kGemmQ8_0;
    case GgmlType::Q4_K: return &avx512::kGemmQ4_K;
    case GgmlType::Q6_K: return &avx512::kGemmQ6_K;
    default: return nullptr;
  }
}

}  // namespace loom
