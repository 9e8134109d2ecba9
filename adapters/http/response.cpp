#include "adapters/http/response.h"

#include <nlohmann/json.hpp>

namespace loom::http {
namespace {

using json = nlohmann::json;

// Text from the engine is valid UTF-8, but a token's own text may be a
// fragment of a character; replace rather than throw.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

// Chat: {"content": [{token, logprob, bytes, top_logprobs: [...]}]}.
json chat_logprobs(const ResponseMeta& meta, const std::vector<TokenLogprobs>& lps, const TokenText& text) {
  json content = json::array();
  for (const auto& lp : lps) {
    const std::string t = text(lp.token);
    json top = json::array();
    for (int i = 0; i < meta.top_logprobs && i < static_cast<int>(lp.top.size()); ++i) {
      const std::string tt = text(lp.top[i].first);
      top.push_back({{"token", tt}, {"logprob", lp.top[i].second}, {"bytes", bytes_of(tt)}});
    }
    content.push_back({{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

// Completions: {tokens, token_logprobs, top_logprobs: [{text: lp}], text_offset}.
json completion_logprobs(const ResponseMeta& meta, const ChoicePiece& p, const TokenText& text) {
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t offset = p.text_offset;
  for (const auto& lp : p.logprobs) {
    const std::string t = text(lp.token);
    tokens.push_back(t);
    lps.push_back(lp.logprob);
    offsets.push_back(offset);
    offset += t.size();
    json top = json::object();
    for (int i = 0; i < meta.top_logprobs && i < static_cast<int>(lp.top.size()); ++i)
      top[text(lp.top[i].first)] = lp.top[i].second;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json logprobs_of(const ResponseMeta& meta, const ChoicePiece& p, const TokenText& text) {
  if (!meta.logprobs) return nullptr;
  return meta.api == Api::kChat ? chat_logprobs(meta, p.logprobs, text) : completion_logprobs(meta, p, text);
}

json finish_of(const ChoicePiece& p) {
  return p.finish ? json(finish_reason_wire(*p.finish)) : json(nullptr);
}

json envelope(const ResponseMeta& meta, const char* object) {
  return {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model}};
}

json usage_of(const JobUsage& u) {
  json j = {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_tokens > 0) j["prompt_tokens_details"] = {{"cached_tokens", u.cached_tokens}};
  return j;
}

}  // namespace

const char* finish_reason_wire(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled:
    case FinishReason::kDeadline: return "abort";
  }
  return "stop";
}

std::string error_body(const HttpError& e) {
  json err = {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  return dump(json{{"error", err}});
}

std::string usage_json(const JobUsage& usage) { return dump(usage_of(usage)); }

std::string encode_response(const ResponseMeta& meta, const std::vector<ChoicePiece>& choices,
                            const JobUsage& usage, const TokenText& token_text) {
  const bool chat = meta.api == Api::kChat;
  json out = envelope(meta, chat ? "chat.completion" : "text_completion");
  json arr = json::array();
  for (const auto& c : choices) {
    json choice = {{"index", c.index}};
    if (chat) choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    else choice["text"] = c.text;
    choice["logprobs"] = logprobs_of(meta, c, token_text);
    choice["finish_reason"] = finish_of(c);
    arr.push_back(std::move(choice));
  }
  out["choices"] = std::move(arr);
  out["usage"] = usage_of(usage);
  return dump(out);
}

std::string encode_chunk(const ResponseMeta& meta, const ChoicePiece& p, const TokenText& token_text) {
  const bool chat = meta.api == Api::kChat;
  json out = envelope(meta, chat ? "chat.completion.chunk" : "text_completion");
  json choice = {{"index", p.index}};
  if (chat) {
    json delta = json::object();
    if (p.first) delta["role"] = "assistant";
    if (!p.text.empty() || p.first) delta["content"] = p.text;
    choice["delta"] = std::move(delta);
  } else {
    choice["text"] = p.text;
  }
  choice["logprobs"] = p.logprobs.empty() ? json(nullptr) : logprobs_of(meta, p, token_text);
  choice["finish_reason"] = finish_of(p);
  out["choices"] = json::array({std::move(choice)});
  return dump(out);
}

std::string encode_usage_chunk(const ResponseMeta& meta, const JobUsage& usage) {
  json out = envelope(meta, meta.api == Api::kChat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = json::array();
  out["usage"] = usage_of(usage);
  return dump(out);
}

std::string sse_frame(const std::string& json_text) { return "data: " + json_text + "\n\n"; }

std::string models_body(const std::string& model, int64_t created, int64_t max_context) {
  json m = {{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "loom"},
            {"root", model}, {"max_model_len", max_context}};
  return dump(json{{"object", "list"}, {"data", json::array({m})}});
}

}  // namespace loom::http
