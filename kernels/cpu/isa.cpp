#include "kernels/cpu/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace loom {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // The AVX-512 kernels use F/BW/VL/DQ plus VNNI (dpbusd); AVX2 ones need FMA+F16C.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vnni"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c"))
    return Isa::Avx2;
#endif
  return Isa::Scalar;
}

// LOOM_ISA is read once; an unknown or unsupported value falls back to the
// detected ISA with a warning rather than crashing the backend at startup.
Isa initial_isa() {
  const Isa best = detect();
  const char* env = std::getenv("LOOM_ISA");
  if (!env || !*env) return best;
  const std::string_view want(env);
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (want != isa_name(isa)) continue;
    if (static_cast<int>(isa) <= static_cast<int>(best)) return isa;
    std::fprintf(stderr, "loom: LOOM_ISA=%s not supported by this CPU, using %s\n", env,
                 isa_name(best).data());
    return best;
  }
  std::fprintf(stderr, "loom: unknown LOOM_ISA=%s (scalar|avx2|avx512), using %s\n", env,
               isa_name(best).data());
  return best;
}

std::atomic<Isa>& active_slot() {
  static std::atomic<Isa> slot{initial_isa()};
  return slot;
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = detect();
  return isa;
}

bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(detected_isa()); }

Isa active_isa() { return active_slot().load(std::memory_order_relaxed); }

void set_isa_override(Isa isa) {
  if (!isa_supported(isa))
    throw KernelError("ISA " + std::string(isa_name(isa)) + " not supported by this CPU");
  active_slot().store(isa, std::memory_order_relaxed);
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

}  // namespace loom
