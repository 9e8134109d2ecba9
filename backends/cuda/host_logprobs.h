// Logprobs of a device-sampled row, computed on the host from the row's raw
// logits (downloaded before the sampler's penalties touch them), with the
// definitions of Sampler::sample_with_logprobs: log-softmax of the raw
// logits in double, top-n by (logit desc, id asc).
#pragma once
#include <span>

#include "backends/common/sampling/sampler.h"

namespace loom::cuda_backend {

void host_logprobs(std::span<const float> raw, int32_t token, int32_t n_top, sampling::SampleResult& out);

}  // namespace loom::cuda_backend
