// The intake thread: chat templates and tokenization, off the engine thread.
#include <algorithm>

#include "backends/common/chat/chat_template.h"
#include "backends/common/engine/engine.h"

namespace loom {
namespace {

std::string token_text_or_empty(const Tokenizer& tok, int32_t id) {
  return id >= 0 ? tok.token_text(id) : std::string();
}

}  // namespace

void Engine::intake_main() {
  while (auto item = intake_q_.pop()) {
    std::vector<int32_t> tokens;
    if (!tokenize_job(*item, tokens)) continue;
    const JobRequest& req = item->request;
    OutMsg reg;
    reg.kind = OutMsg::Kind::kRegister;
    reg.rid = item->rid;
    reg.id = req.id;
    reg.callback = std::move(item->callback);
    reg.stream = req.stream;
    reg.stop = req.params.stop;
    reg.prompt_tokens = static_cast<int32_t>(tokens.size());
    reg.arrival = item->arrival;
    post_output(std::move(reg));  // before the engine can produce anything for it

    NewJob job;
    job.rid = item->rid;
    job.prompt = std::move(tokens);
    job.params = req.params;
    job.priority = req.priority;
    job.arrival = item->arrival;
    if (req.deadline) job.deadline = item->arrival + *req.deadline;
    post_engine(EngineCommand{EngineCommand::Kind::kNewJob, job.rid, std::move(job)});
  }
}

// Fills `tokens` or rejects the job (returning false).
bool Engine::tokenize_job(IntakeItem& item, std::vector<int32_t>& tokens) {
  const JobRequest& req = item.request;
  const Tokenizer& tok = *model_.tokenizer;
  auto fail = [&](ErrorCode code, std::string message) {
    reject(req.id, item.callback, code, std::move(message), item.rid);
    return false;
  };
  // The request's own fields were checked at the contract's door
  // (validate_job); what is left depends on the model.
  try {
    if (const auto* text = std::get_if<std::string>(&req.prompt.value)) {
      tokens = tok.encode(*text, /*add_special=*/true, /*parse_special=*/false);
    } else if (const auto* ids = std::get_if<std::vector<int32_t>>(&req.prompt.value)) {
      for (int32_t id : *ids)
        if (id < 0 || id >= model_.n_vocab)
          return fail(ErrorCode::kBadRequest, "input_ids holds " + std::to_string(id) +
                                                  ", outside the vocabulary [0, " +
                                                  std::to_string(model_.n_vocab) + ")");
      tokens = *ids;
    } else {
      const auto& turns = std::get<std::vector<ChatTurn>>(req.prompt.value);
      if (model_.chat_template.empty())
        return fail(ErrorCode::kBadRequest, "this model has no chat template; send `prompt` instead of `messages`");
      std::vector<ChatMessage> messages;
      for (const auto& t : turns) messages.push_back({t.role, t.content});
      const std::string text = render_chat(model_.chat_template, messages, true,
                                           token_text_or_empty(tok, tok.bos_id()),
                                           token_text_or_empty(tok, tok.eos_id()));
      tokens = tok.encode(text, /*add_special=*/false, /*parse_special=*/true);
    }
  } catch (const std::exception& e) {
    return fail(ErrorCode::kBadRequest, e.what());
  }
  if (tokens.empty()) return fail(ErrorCode::kBadRequest, "the prompt is empty");
  if (req.params.prompt_logprobs != 0 && !executor_->supports_prompt_logprobs())
    return fail(ErrorCode::kBadRequest,
                "prompt_logprobs: this backend does not compute prompt log-probabilities "
                "(the CPU backend, libloom_cpu.so, does)");
  const int64_t context = executor_->max_context();
  if (static_cast<int64_t>(tokens.size()) + req.params.max_tokens > context)
    return fail(ErrorCode::kTooLong, "prompt of " + std::to_string(tokens.size()) + " tokens plus max_tokens " +
                                         std::to_string(req.params.max_tokens) + " exceeds the context of " +
                                         std::to_string(context) + " tokens");
  return true;
}

}  // namespace loom
