// An HTTP error answer in OpenAI's shape: {"error": {"message", "type",
// "param", "code"}}. Every refusal of the HTTP door is one of these; the
// status is what the client sees.
#pragma once
#include <string>

#include "contract/job.h"

namespace loom::http {

struct HttpError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";  // OpenAI's error type
  std::string param;                           // the offending request field, "" if none
  std::string code;                            // a short machine name, "" if none
  int retry_after_s = 0;                       // > 0: sent as Retry-After (429)
};

HttpError bad_request(std::string param, std::string message);

// The door's answer for a job the engine refused (or failed): the contract's
// code as an HTTP status (bad_request/too_long 400, overloaded 429 with
// Retry-After, unavailable 503, internal 500) and its field under the
// OpenAI name the client sent.
HttpError from_engine_error(ErrorCode code, const std::string& field, const std::string& message);

// The OpenAI request field behind a contract field name ("prompt_tokens" ->
// "prompt", "top_p" -> "top_p", "messages[2].content" unchanged).
std::string openai_param(const std::string& contract_field);

}  // namespace loom::http
