// loom_cuda_probe: prints what probe() finds (and links the whole backend
// against cudart/cuBLAS, proving the nvcc build is complete). Exit 0 when usable.
#include <cstdio>

#include "backends/cuda/cuda_model.h"

int main() {
  const loom::cuda_backend::CudaProbe p = loom::cuda_probe();
  if (!p.usable) {
    std::printf("no usable CUDA device: %s\n", p.reason.c_str());
    return 1;
  }
  std::printf("%s%s\n", p.device.c_str(), p.emulated ? " [emulated]" : "");
  return 0;
}
