#include "adapters/http/request_map.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace loom::http {
namespace {

using json = nlohmann::json;

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_float: return "a float";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "an unsupported value";
  }
}

// Thrown inside this file only; map_* turn it into the HttpError it carries.
struct Refusal {
  HttpError error;
};

[[noreturn]] void refuse(const std::string& param, const std::string& message) {
  throw Refusal{bad_request(param, message)};
}
[[noreturn]] void wrong_type(const std::string& param, const char* expected, const json& got) {
  refuse(param, "'" + param + "' must be " + expected + ", got " + type_name(got));
}

// Nesting depth of the body, counted over brackets outside strings, so that
// hostile nesting is refused before the parser allocates for it.
bool depth_within(std::string_view body, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

json parse_object(std::string_view body) {
  if (!depth_within(body, kMaxJsonDepth))
    refuse("", "request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) refuse("", "request body is not valid JSON");
  if (!doc.is_object()) refuse("", std::string("request body must be a JSON object, got ") + type_name(doc));
  return doc;
}

// The field's value, or nullptr when absent or null (null means absent, as
// the OpenAI SDK sends it).
const json* field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

bool as_bool(const json& v, const std::string& param) {
  if (!v.is_boolean()) wrong_type(param, "a boolean", v);
  return v.get<bool>();
}

double as_number(const json& v, const std::string& param) {
  if (!v.is_number()) wrong_type(param, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d)) refuse(param, "'" + param + "' must be finite");
  return d;
}

// Integers in [lo, hi]; an integral float (2.0) counts as an integer.
int64_t as_int(const json& v, const std::string& param, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) refuse(param, "'" + param + "' must be at most " + std::to_string(hi) + ", got " + v.dump());
    x = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || d < -9.2e18 || d > 9.2e18) wrong_type(param, "an integer", v);
    x = static_cast<int64_t>(d);
  } else {
    wrong_type(param, "an integer", v);
  }
  if (x < lo || x > hi)
    refuse(param, "'" + param + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                      std::to_string(x));
  return x;
}

std::string as_string(const json& v, const std::string& param) {
  if (!v.is_string()) wrong_type(param, "a string", v);
  return v.get<std::string>();
}

std::vector<int32_t> as_token_ids(const json& v, const std::string& param) {
  if (!v.is_array()) wrong_type(param, "an array of token ids", v);
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    ids.push_back(static_cast<int32_t>(
        as_int(v[i], param + "[" + std::to_string(i) + "]", 0, std::numeric_limits<int32_t>::max())));
  return ids;
}

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

// `prompt`: a string, token ids, or a batch of exactly one of those.
PromptInput map_prompt(const json& body) {
  const json* p = field(body, "prompt");
  if (!p) refuse("prompt", "'prompt' is required");
  const json* v = p;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) v = &(*p)[0];
  else if (p->is_array() && !p->empty() && ((*p)[0].is_string() || (*p)[0].is_array()))
    refuse("prompt", "'prompt' holds a batch of " + std::to_string(p->size()) + " prompts; send one per request");
  if (v->is_string()) return PromptInput{v->get<std::string>()};
  if (v->is_array()) return PromptInput{as_token_ids(*v, "prompt")};
  wrong_type("prompt", "a string or an array of token ids", *p);
}

// A message's `content`: a string, or text parts [{type: "text", text}].
std::string map_content(const json& m, const std::string& param) {
  const json* c = field(m, "content");
  if (!c) return "";
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) wrong_type(param, "a string or an array of text parts", *c);
  std::string text;
  for (size_t i = 0; i < c->size(); ++i) {
    const std::string part = param + "[" + std::to_string(i) + "]";
    const json& item = (*c)[i];
    if (!item.is_object()) wrong_type(part, "an object", item);
    const json* type = field(item, "type");
    if (!type || !type->is_string() || type->get<std::string>() != "text")
      refuse(part + ".type", "only text content parts are supported");
    const json* t = field(item, "text");
    if (!t) refuse(part + ".text", "'" + part + ".text' is required");
    text += as_string(*t, part + ".text");
  }
  return text;
}

PromptInput map_messages(const json& body) {
  const json* msgs = field(body, "messages");
  if (!msgs) refuse("messages", "'messages' is required");
  if (!msgs->is_array()) wrong_type("messages", "an array", *msgs);
  std::vector<ChatTurn> turns;
  turns.reserve(msgs->size());
  for (size_t i = 0; i < msgs->size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& m = (*msgs)[i];
    if (!m.is_object()) wrong_type(param, "an object", m);
    const json* role = field(m, "role");
    if (!role) refuse(param + ".role", "'" + param + ".role' is required");
    turns.push_back(ChatTurn{as_string(*role, param + ".role"), map_content(m, param + ".content")});
  }
  return PromptInput{std::move(turns)};
}

std::vector<std::string> map_stop(const json& v) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) wrong_type("stop", "a string or an array of strings", v);
  std::vector<std::string> stop;
  for (size_t i = 0; i < v.size(); ++i) stop.push_back(as_string(v[i], "stop[" + std::to_string(i) + "]"));
  return stop;
}

void map_sampling(const json& b, JobParams& params) {
  auto& s = params.sampling;
  if (const json* v = field(b, "temperature")) s.temperature = static_cast<float>(as_number(*v, "temperature"));
  if (const json* v = field(b, "top_p")) s.top_p = static_cast<float>(as_number(*v, "top_p"));
  // vLLM's -1 (and 0) mean "off", Loom's 0.
  if (const json* v = field(b, "top_k")) s.top_k = static_cast<int32_t>(std::max<int64_t>(0, as_int(*v, "top_k", -1, kInt32Max)));
  if (const json* v = field(b, "min_p")) s.min_p = static_cast<float>(as_number(*v, "min_p"));
  if (const json* v = field(b, "seed")) {
    s.seed = static_cast<uint64_t>(as_int(*v, "seed", 0, std::numeric_limits<int64_t>::max()));
    s.has_seed = true;
  }
  if (const json* v = field(b, "presence_penalty")) s.presence_penalty = static_cast<float>(as_number(*v, "presence_penalty"));
  if (const json* v = field(b, "frequency_penalty")) s.frequency_penalty = static_cast<float>(as_number(*v, "frequency_penalty"));
  if (const json* v = field(b, "repetition_penalty")) s.repetition_penalty = static_cast<float>(as_number(*v, "repetition_penalty"));
}

void map_params(const json& b, JobParams& params) {
  // max_completion_tokens is the chat API's newer name; it wins when both are set.
  if (const json* v = field(b, "max_tokens")) params.max_tokens = static_cast<int32_t>(as_int(*v, "max_tokens", 1, kInt32Max));
  if (const json* v = field(b, "max_completion_tokens"))
    params.max_tokens = static_cast<int32_t>(as_int(*v, "max_completion_tokens", 1, kInt32Max));
  map_sampling(b, params);
  if (const json* v = field(b, "stop")) params.stop = map_stop(*v);
  if (const json* v = field(b, "stop_token_ids")) params.stop_token_ids = as_token_ids(*v, "stop_token_ids");
  if (const json* v = field(b, "ignore_eos")) params.ignore_eos = as_bool(*v, "ignore_eos");
}

// Completions: `logprobs` is an int (alternatives per token; 0 = only the
// sampled token's). Chat: `logprobs` is a bool and `top_logprobs` the count.
// The contract reports logprobs when params.logprobs > 0, so 0 alternatives
// asks it for 1 and the answer shows none.
void map_logprobs(const json& b, Api api, MappedRequest& out) {
  const int max = sampling::kMaxTopLogprobs;
  if (api == Api::kCompletions) {
    if (const json* v = field(b, "logprobs")) {
      if (v->is_boolean()) wrong_type("logprobs", "an integer", *v);
      out.logprobs = true;
      out.top_logprobs = static_cast<int>(as_int(*v, "logprobs", 0, max));
    }
  } else {
    if (const json* v = field(b, "logprobs")) out.logprobs = as_bool(*v, "logprobs");
    if (const json* v = field(b, "top_logprobs")) {
      out.top_logprobs = static_cast<int>(as_int(*v, "top_logprobs", 0, max));
      if (!out.logprobs && out.top_logprobs > 0) refuse("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    }
  }
  if (out.logprobs) {
    out.job.params.logprobs = std::max(1, out.top_logprobs);
    out.job.params.sampling.top_logprobs = out.job.params.logprobs;
  }
}

void map_stream(const json& b, MappedRequest& out) {
  if (const json* v = field(b, "stream")) out.stream = as_bool(*v, "stream");
  if (const json* so = field(b, "stream_options")) {
    if (!so->is_object()) wrong_type("stream_options", "an object", *so);
    if (!out.stream) refuse("stream_options", "'stream_options' is only allowed with 'stream': true");
    if (const json* v = field(*so, "include_usage")) out.include_usage = as_bool(*v, "stream_options.include_usage");
  }
}

MappedRequest map_body(const json& b, Api api) {
  MappedRequest out;
  out.api = api;
  if (const json* v = field(b, "model")) out.model = as_string(*v, "model");
  out.job.prompt = api == Api::kChat ? map_messages(b) : map_prompt(b);
  map_params(b, out.job.params);
  if (const json* v = field(b, "n")) out.n = static_cast<int>(as_int(*v, "n", 1, kMaxChoices));
  if (const json* v = field(b, "best_of"); v && as_int(*v, "best_of", 1, kMaxChoices) != out.n)
    refuse("best_of", "'best_of' other than 'n' is not supported");
  if (const json* v = field(b, "echo"); v && as_bool(*v, "echo")) refuse("echo", "'echo' is not supported");
  if (const json* v = field(b, "suffix"); v && !(v->is_string() && v->get<std::string>().empty()))
    refuse("suffix", "'suffix' is not supported");
  map_logprobs(b, api, out);
  map_stream(b, out);
  out.job.stream = out.stream;
  return out;
}

}  // namespace

MapResult map_request(std::string_view body, Api api) {
  try {
    return map_body(parse_object(body), api);
  } catch (const Refusal& r) {
    return r.error;
  } catch (const json::exception& e) {  // defensive: a type the checks above missed
    return bad_request("", std::string("invalid request: ") + e.what());
  }
}

std::variant<TokenizeRequest, HttpError> map_tokenize(std::string_view body) {
  try {
    const json b = parse_object(body);
    TokenizeRequest out;
    if (field(b, "messages")) refuse("messages", "'messages' is not supported by /tokenize; send 'prompt'");
    const json* p = field(b, "prompt");
    if (!p) refuse("prompt", "'prompt' is required");
    out.prompt = as_string(*p, "prompt");
    if (const json* v = field(b, "add_special_tokens")) out.add_special = as_bool(*v, "add_special_tokens");
    return out;
  } catch (const Refusal& r) {
    return r.error;
  } catch (const json::exception& e) {
    return bad_request("", std::string("invalid request: ") + e.what());
  }
}

std::variant<DetokenizeRequest, HttpError> map_detokenize(std::string_view body) {
  try {
    const json b = parse_object(body);
    const json* t = field(b, "tokens");
    if (!t) refuse("tokens", "'tokens' is required");
    return DetokenizeRequest{as_token_ids(*t, "tokens")};
  } catch (const Refusal& r) {
    return r.error;
  } catch (const json::exception& e) {
    return bad_request("", std::string("invalid request: ") + e.what());
  }
}

}  // namespace loom::http
