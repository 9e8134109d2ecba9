#include "adapters/http/http_error.h"

namespace loom::http {

HttpError bad_request(std::string param, std::string message) {
  HttpError e;
  e.status = 400;
  e.param = std::move(param);
  e.message = std::move(message);
  e.code = "bad_request";
  return e;
}

std::string openai_param(const std::string& f) {
  if (f == "prompt_tokens" || f == "input_ids") return "prompt";
  if (f == "params.logprobs") return "logprobs";
  if (f.rfind("params.", 0) == 0) return f.substr(7);
  return f;
}

HttpError from_engine_error(ErrorCode code, const std::string& field, const std::string& message) {
  HttpError e;
  e.message = message;
  e.param = openai_param(field);
  e.code = error_code_name(code);
  switch (code) {
    case ErrorCode::kBadRequest:
    case ErrorCode::kTooLong:
      e.status = 400;
      break;
    case ErrorCode::kOverloaded:
      e.status = 429;
      e.type = "rate_limit_error";
      e.retry_after_s = 1;
      break;
    case ErrorCode::kUnavailable:
      e.status = 503;
      e.type = "service_unavailable";
      break;
    case ErrorCode::kInternal:
      e.status = 500;
      e.type = "internal_error";
      break;
  }
  return e;
}

}  // namespace loom::http
