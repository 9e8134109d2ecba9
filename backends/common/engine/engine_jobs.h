// Per-job state private to the engine thread and to the output thread.
#pragma once
#include <memory>

#include "backends/common/engine/engine.h"
#include "backends/common/engine/stop_matcher.h"
#include "backends/common/tokenizer/detokenizer.h"

namespace loom {

struct Engine::EngineJob {
  JobParams params;
  sampling::Sampler sampler;
  std::optional<Clock::time_point> first_scheduled;
  int32_t cached_tokens = 0;
  bool failed = false;  // an error was reported; its scheduler finish is silent
  int32_t prompt_logprobs_sent = 0;  // prompt positions whose log-probability went out

  explicit EngineJob(const JobParams& p) : params(p), sampler(p.sampling) {}
};

struct Engine::OutputJob {
  std::string id;
  JobCallback callback;
  bool stream = true;
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;
  Clock::time_point arrival;
  std::optional<Clock::time_point> first_scheduled, first_token;
  IncrementalDetokenizer detok;
  StopMatcher stops;
  std::string text;              // non-streamed: everything; streamed: unused
  std::vector<int32_t> tokens;   // non-streamed: every id
  std::vector<TokenLogprobs> logprobs;
  std::vector<float> prompt_logprobs;  // carried by the kDone event
  int32_t completion_tokens = 0;
  bool done = false;  // terminal event sent (a stop string ended it early)

  OutputJob(const Tokenizer& tok, std::vector<std::string> stop)
      : detok(tok, /*render_special=*/false), stops(std::move(stop)) {}
};

}  // namespace loom
