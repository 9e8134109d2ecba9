// Which x86 instruction set the hot kernels use, chosen once at startup.
// detected_isa(): the best the CPU supports (cpuid). active_isa(): what the
// kernels dispatch to; it starts as LOOM_ISA=scalar|avx2|avx512 when set (a
// "scalar-reference build" of the backend sets LOOM_ISA=scalar), else the
// detected one. Tests switch it with set_isa_override().
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>

namespace loom {

// Raised by the CPU kernels on bad arguments (shapes, types, ISA requests).
class KernelError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

enum class Isa { Scalar, Avx2, Avx512 };

Isa detected_isa();
Isa active_isa();
// Throws KernelError when the CPU lacks `isa`.
void set_isa_override(Isa isa);
bool isa_supported(Isa isa);
std::string_view isa_name(Isa isa);

}  // namespace loom
