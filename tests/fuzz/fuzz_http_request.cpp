// Arbitrary bytes as an HTTP request body: the mapping to a contract job must
// answer (a job or a 400 naming its field), never crash, hang or throw; an
// accepted job stays within the door's bounds, and the answer built from it
// is JSON that parses.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "adapters/http/request_map.h"
#include "adapters/http/response.h"

namespace {

void check(std::string_view body, loom::http::Api api) {
  using namespace loom::http;
  MapResult r = map_request(body, api);
  if (auto* e = std::get_if<HttpError>(&r)) {
    if (e->status != 400) __builtin_trap();
    if (!nlohmann::json::accept(error_body(*e))) __builtin_trap();
    return;
  }
  const auto& m = std::get<MappedRequest>(r);
  if (m.n < 1 || m.n > kMaxChoices) __builtin_trap();
  if (m.top_logprobs < 0 || m.top_logprobs > loom::sampling::kMaxTopLogprobs) __builtin_trap();
  if (m.logprobs != (m.job.params.logprobs > 0)) __builtin_trap();
  if (m.include_usage && !m.stream) __builtin_trap();
  ResponseMeta meta;
  meta.api = api;
  meta.model = m.model;
  meta.logprobs = m.logprobs;
  meta.top_logprobs = m.top_logprobs;
  ChoicePiece piece;
  if (const auto* s = std::get_if<std::string>(&m.job.prompt.value)) piece.text = *s;
  piece.finish = loom::FinishReason::kStop;
  if (!nlohmann::json::accept(encode_response(meta, {piece}, {}, [](int32_t) { return std::string("t"); })))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check(body, loom::http::Api::kCompletions);
  check(body, loom::http::Api::kChat);
  (void)loom::http::map_tokenize(body);
  (void)loom::http::map_detokenize(body);
  return 0;
}
