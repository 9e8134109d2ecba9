// The sections of bench_kernels, one per file: ceilings (bench_ceilings.cu),
// quantized GEMV vs cuBLAS fp16 (bench_gemv.cu), decode and prefill attention
// (bench_attention.cu), the small ops (bench_ops.cu). Each appends rows to
// the table; shapes are Llama-2-7B's (dim 4096, 32/32 heads, head dim 128,
// ffn 11008, vocab 32000).
#pragma once
#include "bench/gpu/bench_util.cuh"

namespace loom::gpu_bench {

struct Ceilings {
  double copy_gbs = 0;     // device-to-device cudaMemcpy, (read + write) bytes / time
  double fp16_tflops = 0;  // cuBLAS fp16 GEMM (fp32 accumulate), 8192^3
};

Ceilings measure_ceilings(const DeviceInfo& dev, ResultTable& table);
void bench_gemv(const Ceilings& c, const DeviceInfo& dev, ResultTable& table);
void bench_attention(const Ceilings& c, const DeviceInfo& dev, ResultTable& table);
void bench_ops(const Ceilings& c, const DeviceInfo& dev, ResultTable& table);

}  // namespace loom::gpu_bench
