// bench_kernels: the CUDA kernels on the device beside its measured ceilings
// (device-to-device copy bandwidth, cuBLAS fp16 GEMM), one markdown table,
// PASS/FAIL against kernels/cuda/ROOFLINE.md's targets. Exit 0 after a
// complete run (FAIL rows are results, not errors); 1 on a CUDA error; 77
// when there is no device.
//   bench_kernels [--only ceilings|gemv|attention|ops]
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "bench/gpu/bench_sections.h"

int main(int argc, char** argv) {
  using namespace loom::gpu_bench;
  const std::string only = argc >= 3 && std::strcmp(argv[1], "--only") == 0 ? argv[2] : "";
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::printf("bench_kernels: SKIPPED, no CUDA device\n");
    return 77;
  }
  try {
    const DeviceInfo dev = device_info();
    std::printf("device: %s (sm_%d, %d SMs, L2 %.0f MB, %.1f GiB)\n\n", dev.name.c_str(), dev.cc, dev.sm_count,
                dev.l2_bytes / 1e6, dev.total_mem / double(1 << 30));
    ResultTable table;
    table.print_header();
    const Ceilings c = measure_ceilings(dev, table);
    if (only.empty() || only == "gemv") bench_gemv(c, dev, table);
    if (only.empty() || only == "attention") bench_attention(c, dev, table);
    if (only.empty() || only == "ops") bench_ops(c, dev, table);
    std::printf("\nbench_kernels: %d PASS, %d FAIL (copy ceiling %.0f GB/s, fp16 GEMM ceiling %.0f TFLOP/s)\n",
                table.passes(), table.fails(), c.copy_gbs, c.fp16_tflops);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_kernels: %s\n", e.what());
    return 1;
  }
  return 0;
}
