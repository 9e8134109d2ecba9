#include "contract/sampling_params.h"

#include <cmath>
#include <sstream>

namespace loom::sampling {

namespace {

template <typename T>
std::string bad(const char* field, const char* rule, T value) {
  std::ostringstream os;
  os << field << " must be " << rule << ", got " << value;
  return os.str();
}

}  // namespace

std::optional<std::string> validate(const SamplingParams& p) {
  const struct {
    const char* name;
    float value;
  } floats[] = {{"temperature", p.temperature},
                {"top_p", p.top_p},
                {"min_p", p.min_p},
                {"repetition_penalty", p.repetition_penalty},
                {"presence_penalty", p.presence_penalty},
                {"frequency_penalty", p.frequency_penalty}};
  for (const auto& f : floats) {
    if (!std::isfinite(f.value)) return bad(f.name, "finite", f.value);
  }
  if (p.temperature < 0.0f) return bad("temperature", ">= 0", p.temperature);
  if (p.top_k < 0) return bad("top_k", ">= 0 (0 = off)", p.top_k);
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad("top_p", "in (0, 1]", p.top_p);
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p", "in [0, 1]", p.min_p);
  if (!(p.repetition_penalty > 0.0f)) return bad("repetition_penalty", "> 0", p.repetition_penalty);
  if (p.penalty_last_n < 0) return bad("penalty_last_n", ">= 0", p.penalty_last_n);
  if (p.top_logprobs < 0 || p.top_logprobs > kMaxTopLogprobs) {
    return bad("top_logprobs", "in [0, 20]", p.top_logprobs);
  }
  return std::nullopt;
}

}  // namespace loom::sampling
