#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/common/sampling/sampler.h"
#include "contract/sampling_params.h"

namespace loom::sampling {
namespace {

void expect_rejected(SamplingParams p, const std::string& field, const std::string& value) {
  const auto err = validate(p);
  ASSERT_TRUE(err.has_value()) << field;
  EXPECT_NE(err->find(field), std::string::npos) << *err;
  EXPECT_NE(err->find(value), std::string::npos) << *err;
  EXPECT_THROW(Sampler{p}, std::invalid_argument);
}

TEST(SamplingParams, DefaultsAndEdgesAreValid) {
  EXPECT_FALSE(validate(SamplingParams{}).has_value());
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_p = 1.0f;
  p.min_p = 1.0f;
  p.top_k = 1;
  p.penalty_last_n = 0;
  p.presence_penalty = -2.0f;
  p.top_logprobs = kMaxTopLogprobs;
  EXPECT_FALSE(validate(p).has_value());
}

TEST(SamplingParams, RejectsEachBadValue) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SamplingParams p;
  p.temperature = -0.5f;
  expect_rejected(p, "temperature", "-0.5");
  p = {};
  p.temperature = nan;
  expect_rejected(p, "temperature", "nan");
  p = {};
  p.top_p = 0.0f;
  expect_rejected(p, "top_p", "0");
  p = {};
  p.top_p = 1.5f;
  expect_rejected(p, "top_p", "1.5");
  p = {};
  p.min_p = -0.1f;
  expect_rejected(p, "min_p", "-0.1");
  p = {};
  p.min_p = 1.25f;
  expect_rejected(p, "min_p", "1.25");
  p = {};
  p.top_k = -1;
  expect_rejected(p, "top_k", "-1");
  p = {};
  p.repetition_penalty = 0.0f;
  expect_rejected(p, "repetition_penalty", "0");
  p = {};
  p.repetition_penalty = -1.0f;
  expect_rejected(p, "repetition_penalty", "-1");
  p = {};
  p.presence_penalty = inf;
  expect_rejected(p, "presence_penalty", "inf");
  p = {};
  p.frequency_penalty = -inf;
  expect_rejected(p, "frequency_penalty", "-inf");
  p = {};
  p.penalty_last_n = -3;
  expect_rejected(p, "penalty_last_n", "-3");
  p = {};
  p.top_logprobs = 21;
  expect_rejected(p, "top_logprobs", "21");
}

}  // namespace
}  // namespace loom::sampling
