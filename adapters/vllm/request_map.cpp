#include "adapters/vllm/request_map.h"

#include <algorithm>

namespace loom::vllm_door {

std::variant<MappedJob, std::string> map_add(const AddRequest& add, const ModelInfo& model) {
  if (!add.unsupported.empty()) return "Loom's vLLM engine does not support " + add.unsupported;
  if (add.n != 1) return "n=" + std::to_string(add.n) + " reached the engine; the frontend fans n out into n requests";
  if (add.min_tokens > 0)
    return "Loom's vLLM engine does not support min_tokens (it cannot mask stop tokens during sampling)";
  if (add.logprobs && (*add.logprobs < 0 || *add.logprobs > sampling::kMaxTopLogprobs))
    return "logprobs must be in [0, " + std::to_string(sampling::kMaxTopLogprobs) + "] for Loom, got " +
           std::to_string(*add.logprobs);
  if (add.prompt.empty()) return "the prompt has no tokens";

  MappedJob m;
  JobRequest& job = m.job;
  job.id = add.request_id;
  job.prompt.value = add.prompt;
  job.stream = true;
  // vLLM: a lower priority value runs earlier; Loom: higher runs first.
  job.priority = static_cast<int32_t>(std::clamp<int64_t>(-add.priority, -1000, 1000));
  JobParams& p = job.params;
  const int64_t room = model.max_context - static_cast<int64_t>(add.prompt.size());
  p.max_tokens = static_cast<int32_t>(std::clamp<int64_t>(add.max_tokens.value_or(room), 0, INT32_MAX));
  auto& s = p.sampling;
  // vLLM samples greedily below this temperature (sampling_params.py _SAMPLING_EPS).
  s.temperature = add.temperature < 1e-5f ? 0.0f : add.temperature;
  s.top_k = add.top_k < 0 ? 0 : add.top_k;  // vLLM: -1 or 0 = all tokens
  s.top_p = add.top_p;
  s.min_p = add.min_p;
  s.presence_penalty = add.presence_penalty;
  s.frequency_penalty = add.frequency_penalty;
  s.repetition_penalty = add.repetition_penalty;
  // vLLM's penalties see the whole sequence, not a window.
  s.penalty_last_n = static_cast<int32_t>(std::clamp<int64_t>(model.max_context, 64, INT32_MAX));
  if (add.seed) {
    s.has_seed = true;
    s.seed = static_cast<uint64_t>(*add.seed);
  }
  if (add.logprobs) {
    m.num_logprobs = static_cast<int32_t>(*add.logprobs);
    // Loom reports the sampled token's logprob only alongside alternatives.
    p.logprobs = std::max<int32_t>(1, *m.num_logprobs);
    s.top_logprobs = p.logprobs;
  }
  // The frontend's EOS (_eos_token_id, absent under ignore_eos) and
  // stop_token_ids are the whole stop set; Loom's own EOS stays out of it.
  p.ignore_eos = true;
  m.stop.reported.insert(add.stop_token_ids.begin(), add.stop_token_ids.end());
  m.stop.ids = m.stop.reported;
  if (add.eos_token_id && !add.ignore_eos) {
    m.stop.ids.insert(*add.eos_token_id);
    m.stop.reported.erase(*add.eos_token_id);
  }
  m.stop.door_checks = m.stop.ids.size() > 1;
  if (!m.stop.door_checks) p.stop_token_ids.assign(m.stop.ids.begin(), m.stop.ids.end());
  return m;
}

}  // namespace loom::vllm_door
