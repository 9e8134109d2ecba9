#include "adapters/host/cli/generation.h"

#include <algorithm>

#include "backends/common/sampling/sampler.h"
#include "backends/common/tokenizer/detokenizer.h"

namespace loom::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool is_stop(const Tokenizer& tok, const GenerateOptions& opt, int32_t id) {
  if (!opt.ignore_eos && tok.is_eog(id)) return true;
  return std::find(opt.stop_token_ids.begin(), opt.stop_token_ids.end(), id) != opt.stop_token_ids.end();
}

}  // namespace

GenerateResult generate(CpuModel& model, SingleSequence& seq, std::span<const int32_t> prompt,
                        const GenerateOptions& opt, const std::function<void(std::string_view)>& on_text) {
  if (auto error = sampling::validate(opt.sampling)) throw std::invalid_argument(*error);
  const Tokenizer& tok = model.tokenizer();
  sampling::Sampler sampler(opt.sampling);
  IncrementalDetokenizer detok(tok, /*render_special=*/false);
  GenerateResult result;
  result.finish_reason = "length";
  const int32_t room = model.context() - seq.position() - static_cast<int32_t>(prompt.size());
  const int32_t budget = std::min(opt.max_tokens, room);

  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = seq.feed(prompt);
  result.prefill_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  for (int32_t i = 0; i < budget; ++i) {
    const int32_t id = sampler.sample(logits);
    if (is_stop(tok, opt, id)) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(id);
    if (auto text = detok.push(id); !text.empty()) on_text(text);
    if (i + 1 < budget) logits = seq.feed(std::span<const int32_t>(&id, 1));
  }
  if (auto rest = detok.flush(); !rest.empty()) on_text(rest);
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace loom::cli
