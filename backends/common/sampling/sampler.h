// One request's sampler: penalties over its recent tokens, then greedy or
// top-k -> top-p -> min-p -> temperature -> one Philox draw (llama.cpp's
// default chain order). Not thread-safe; one per request.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "contract/sampling_params.h"

namespace loom::sampling {

struct TokenLogprob {
  int32_t token;
  float logprob;  // log-softmax of the raw logits (before penalties/filters/temperature)
};

struct SampleResult {
  int32_t token;
  float logprob;                   // of `token`, same definition
  std::vector<TokenLogprob> top;   // params.top_logprobs best, descending
};

class Sampler {
 public:
  // Throws std::invalid_argument with validate()'s message on bad params.
  explicit Sampler(const SamplingParams& params);

  // Adds a token to the penalty history (e.g. prompt tokens, if the caller
  // wants them penalized). sample() adds the tokens it returns.
  void accept(int32_t token);

  // logits: [vocab], modified in place (penalties). Throws std::domain_error
  // when the vocab is empty or no logit is finite or +inf.
  int32_t sample(std::span<float> logits);
  SampleResult sample_with_logprobs(std::span<float> logits);

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }
  uint64_t draws() const { return draws_; }  // Philox counter: uniforms consumed so far
  const std::deque<int32_t>& history() const { return history_; }  // penalty window, oldest first

  // What sample() does to this sampler's state, for a token chosen elsewhere
  // by an exact reproduction of it (the CUDA backend's device sampler):
  // advances the Philox counter when that choice consumed a uniform, then
  // accept()s the token.
  void record_sample(int32_t token, bool drew_uniform) {
    if (drew_uniform) ++draws_;
    accept(token);
  }

 private:
  void apply_penalties(std::span<float> logits) const;
  int32_t choose(std::span<const float> logits);

  SamplingParams params_;
  uint64_t seed_ = 0;
  uint64_t draws_ = 0;
  std::deque<int32_t> history_;  // last penalty_last_n tokens, oldest first
};

}  // namespace loom::sampling
