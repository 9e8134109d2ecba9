// Sampling on the device, one block per row, reproducing
// loom::sampling::Sampler (backends/common/sampling/sampler.cpp) token for
// token: penalties -> greedy/argmax -> top-k -> top-p -> min-p -> temperature
// -> one Philox4x32-10 draw, inverse-CDF over the candidates in the CPU's
// order (descending logit, ties by lower id, when top-k or top-p sorted them;
// id order otherwise).
//
// No sort: each filter boundary is found by an 8-level radix descent over the
// order-preserving 32-bit key of the logit (4 bits per level, per-thread
// 16-bucket register histograms of weight, reduced deterministically), then
// inside the tie group of equal logits by id. Probability masses are summed
// in double like the CPU, but grouped differently, so a draw or top-p cut that
// falls within ~1e-15 (relative) of a boundary can land on the neighbouring
// token; the test counts such flips. Greedy is an exact argmax.
#pragma once

#include <cstdint>

#include "kernels/cuda/common/device.cuh"

namespace loom::cuda {

// Per-row parameters, the fields of loom::sampling::SamplingParams plus the
// Philox stream position. Same validity rules (validate() on the host first).
struct DeviceSamplingParams {
  float temperature = 1.0f;  // 0 = greedy
  int32_t top_k = 0;         // <= 0 or >= candidates: off
  float top_p = 1.0f;        // >= 1: off
  float min_p = 0.0f;        // <= 0: off
  float log_min_p = 0.0f;    // std::log(min_p) computed on the HOST (float), as the CPU does
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;
  uint64_t draw_index = 0;  // the Sampler's draws(): Philox counter of this draw
};

enum SampleStatus : int32_t {
  kSampleNoFiniteLogit = -1,  // token = -1 (the CPU throws std::domain_error)
  kSampleGreedy = 0,          // argmax taken, no uniform consumed
  kSampleDrew = 1,            // one uniform consumed: advance draw_index by 1
};

// logits:          [n_rows][vocab] fp32; penalties are applied IN PLACE (as
//                  Sampler::sample does to its span).
// params:          [n_rows].
// history:         flat int32 token ids; row r's penalty window (its last
//                  penalty_last_n tokens, oldest first) is
//                  history[history_offsets[r] .. history_offsets[r+1]).
//                  Ids outside [0, vocab) are ignored (as on the CPU).
// history_offsets: [n_rows + 1], or null when no row has a history.
// tokens, status:  [n_rows] int32 outputs (status: SampleStatus).
// One block of 256 threads per row.
cudaError_t launch_sample(float* logits, int32_t n_rows, int32_t vocab,
                          const DeviceSamplingParams* params, const int32_t* history,
                          const int32_t* history_offsets, int32_t* tokens, int32_t* status,
                          cudaStream_t stream);

}  // namespace loom::cuda
