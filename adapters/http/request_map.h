// OpenAI request bodies -> contract jobs: a pure function of the body bytes
// (no engine, no sockets; fuzzed by tests/fuzz/fuzz_http_request.cpp).
// It decodes JSON and types only; ranges and sizes are the contract's
// validate_job, run by the engine at submit, whose refusal the server maps
// back (http_error.h). Unknown fields are ignored.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/http/http_error.h"
#include "contract/job.h"

namespace loom::http {

enum class Api { kCompletions, kChat };

inline constexpr int kMaxChoices = 8;  // `n`
inline constexpr int kMaxJsonDepth = 32;

struct MappedRequest {
  Api api = Api::kCompletions;
  std::string model;    // as sent ("" when absent)
  JobRequest job;       // id empty: the server names each of the n jobs
  int n = 1;            // choices: n jobs of this request
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;       // report the sampled tokens' logprobs
  int top_logprobs = 0;        // alternatives per token in the answer
};

using MapResult = std::variant<MappedRequest, HttpError>;

// `body`: the request body of POST /v1/completions (kCompletions) or
// /v1/chat/completions (kChat).
MapResult map_request(std::string_view body, Api api);

// POST /tokenize and /detokenize (vLLM's shapes).
struct TokenizeRequest {
  std::string prompt;
  bool add_special = true;  // `add_special_tokens`
};
struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};
std::variant<TokenizeRequest, HttpError> map_tokenize(std::string_view body);
std::variant<DetokenizeRequest, HttpError> map_detokenize(std::string_view body);

}  // namespace loom::http
