// Contract events -> OpenAI response bodies and SSE frames. Pure functions:
// the server calls them, the unit tests check their shapes.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/http_error.h"
#include "adapters/http/request_map.h"
#include "contract/job.h"

namespace loom::http {

// The text of one token id, for logprobs (the engine's detokenize of it).
using TokenText = std::function<std::string(int32_t)>;

// What every chunk and answer of one request repeats.
struct ResponseMeta {
  Api api = Api::kCompletions;
  std::string id;        // "cmpl-…" / "chatcmpl-…"
  int64_t created = 0;   // unix seconds
  std::string model;
  bool logprobs = false;
  int top_logprobs = 0;
};

// One choice's piece: the whole output (non-stream) or one delta (stream).
struct ChoicePiece {
  int index = 0;
  std::string text;
  std::vector<TokenLogprobs> logprobs;
  std::optional<FinishReason> finish;  // set on the piece that ends the choice
  bool first = false;                  // chat stream: carries role "assistant"
  size_t text_offset = 0;              // completions logprobs: bytes of this choice before `text`
};

// OpenAI's finish_reason: "stop", "length"; a cancelled job or a passed
// deadline is "abort", vLLM's name for a request that was aborted.
const char* finish_reason_wire(FinishReason reason);

std::string error_body(const HttpError& error);
std::string usage_json(const JobUsage& usage);

// The non-streamed answer with all choices and the summed usage.
std::string encode_response(const ResponseMeta& meta, const std::vector<ChoicePiece>& choices,
                            const JobUsage& usage, const TokenText& token_text);
// One streamed chunk for one choice.
std::string encode_chunk(const ResponseMeta& meta, const ChoicePiece& piece, const TokenText& token_text);
// The include_usage chunk: empty choices, usage set.
std::string encode_usage_chunk(const ResponseMeta& meta, const JobUsage& usage);

// SSE framing: "data: <json>\n\n", and the terminator "data: [DONE]\n\n".
std::string sse_frame(const std::string& json);
inline constexpr const char* kSseDone = "data: [DONE]\n\n";

// GET /v1/models.
std::string models_body(const std::string& model, int64_t created, int64_t max_context);

}  // namespace loom::http
