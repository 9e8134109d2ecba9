#include "adapters/http/generation.h"

#include "adapters/http/http_wire.h"

namespace loom::http {

Generation::Generation(HttpServer::Core& core, MappedRequest request, ResponseMeta meta, bool keep_alive,
                       std::shared_ptr<Sink> sink, net::any_io_executor strand)
    : core_(core),
      request_(std::move(request)),
      meta_(std::move(meta)),
      keep_alive_(keep_alive),
      sink_(std::move(sink)),
      strand_(std::move(strand)) {}

void Generation::start() {
  start_ = Clock::now();
  choices_.resize(static_cast<size_t>(request_.n));
  remaining_ = choices_.size();
  for (size_t i = 0; i < choices_.size(); ++i) {
    choices_[i].id = meta_.id + "-" + std::to_string(i);
    choices_[i].last_token = start_;
    core_.job_started(choices_[i].id);
  }
  core_.adopt(shared_from_this());
  for (size_t i = 0; i < choices_.size(); ++i) {
    JobRequest job = request_.job;
    job.id = choices_[i].id;
    // n > 1 with a seed: each choice its own (seed + index), or all n would be equal.
    if (job.params.sampling.has_seed) job.params.sampling.seed += i;
    // Weak on both sides: the engine may call (or drop) this after the server
    // is gone, from its own thread.
    std::weak_ptr<HttpServer::Core> weak_core = core_.weak_from_this();
    std::weak_ptr<Generation> weak_self = weak_from_this();
    core_.engine.submit(std::move(job), [weak_core, weak_self, id = choices_[i].id, i](const JobEvent& ev) {
      const auto core = weak_core.lock();
      if (!core) return;
      if (ev.kind != JobEvent::Kind::kDelta) core->job_ended(id);
      if (auto self = weak_self.lock()) net::post(self->strand_, [self, i, ev] { self->on_event(i, ev); });
    });
  }
}

void Generation::abandon() {
  if (finished_) return;
  abandoned_ = true;
  finished_ = true;
  sink_.reset();
  for (auto& c : choices_)
    if (!c.done) core_.engine.cancel(c.id);
}

void Generation::emit(std::string bytes) {
  if (auto s = sink_) s->write(header_sent_ && request_.stream ? chunk(bytes) : std::move(bytes));
}

void Generation::end() {
  finished_ = true;
  if (auto s = std::exchange(sink_, nullptr)) s->response_done();
}

void Generation::cancel_others() {
  for (auto& c : choices_)
    if (!c.done) core_.engine.cancel(c.id);
}

void Generation::on_event(size_t index, const JobEvent& ev) {
  Choice& c = choices_[index];
  if (c.done) return;
  if (ev.kind != JobEvent::Kind::kDelta) {
    c.done = true;
    --remaining_;
  }
  // The last terminal event: nothing more can arrive (the posted handler that
  // runs this still holds us).
  if (remaining_ == 0) core_.release(this);
  if (ev.kind == JobEvent::Kind::kDone) record(c, ev);
  if (finished_) return;  // answered already (an error, or the client left): only bookkeeping
  switch (ev.kind) {
    case JobEvent::Kind::kDelta: on_delta(c, index, ev); break;
    case JobEvent::Kind::kDone: on_done(c, index, ev); break;
    case JobEvent::Kind::kError: on_error(ev); break;
  }
}

void Generation::begin_stream() {
  if (header_sent_) return;
  if (auto s = sink_) s->write(sse_header(keep_alive_));
  header_sent_ = true;
}

void Generation::on_delta(Choice& c, size_t index, const JobEvent& ev) {
  const auto now = Clock::now();
  if (!ev.token_ids.empty()) {
    if (c.got_token)
      core_.metrics().record_inter_token(
          std::chrono::duration<double>(now - c.last_token).count() / static_cast<double>(ev.token_ids.size()),
          ev.token_ids.size());
    c.got_token = true;
    c.last_token = now;
  }
  if (!request_.stream) return;  // non-stream jobs send no deltas; ignore strays
  if (ev.text.empty() && ev.logprobs.empty() && c.first_sent) return;
  begin_stream();
  ChoicePiece piece;
  piece.index = static_cast<int>(index);
  piece.text = ev.text;
  piece.logprobs = ev.logprobs;
  piece.first = !c.first_sent;
  piece.text_offset = c.text_bytes;
  c.first_sent = true;
  c.text_bytes += ev.text.size();
  emit(sse_frame(encode_chunk(meta_, piece, [this](int32_t id) { return core_.token_text(id); })));
}

void Generation::on_done(Choice& c, size_t index, const JobEvent& ev) {
  c.finish = ev.finish_reason;
  c.usage = ev.usage;
  if (request_.stream) {
    begin_stream();
    ChoicePiece piece;
    piece.index = static_cast<int>(index);
    piece.finish = ev.finish_reason;
    piece.first = !c.first_sent;
    c.first_sent = true;
    emit(sse_frame(encode_chunk(meta_, piece, [this](int32_t id) { return core_.token_text(id); })));
  } else {
    c.text = ev.text;
    c.logprobs = ev.logprobs;
  }
  if (remaining_ == 0) finish_all();
}

JobUsage Generation::total_usage() const {
  JobUsage u;
  // The n choices share one prompt: counted once, as OpenAI and vLLM do.
  if (!choices_.empty()) u.prompt_tokens = choices_[0].usage.prompt_tokens;
  for (const auto& c : choices_) {
    u.completion_tokens += c.usage.completion_tokens;
    u.cached_tokens = std::max(u.cached_tokens, c.usage.cached_tokens);
  }
  return u;
}

void Generation::finish_all() {
  if (request_.stream) {
    if (request_.include_usage) emit(sse_frame(encode_usage_chunk(meta_, total_usage())));
    emit(kSseDone);
    if (auto s = sink_) s->write(std::string(kLastChunk));
    end();
    return;
  }
  std::vector<ChoicePiece> pieces;
  for (size_t i = 0; i < choices_.size(); ++i) {
    ChoicePiece p;
    p.index = static_cast<int>(i);
    p.text = choices_[i].text;
    p.logprobs = choices_[i].logprobs;
    p.finish = choices_[i].finish;
    pieces.push_back(std::move(p));
  }
  const std::string body =
      encode_response(meta_, pieces, total_usage(), [this](int32_t id) { return core_.token_text(id); });
  emit(http_response(200, "application/json", body, keep_alive_));
  end();
}

void Generation::on_error(const JobEvent& ev) {
  cancel_others();
  const HttpError err = from_engine_error(ev.error_code, ev.field, ev.message);
  if (header_sent_) {
    // The 200 went out already: the error travels in the stream.
    emit(sse_frame(error_body(err)));
    emit(kSseDone);
    if (auto s = sink_) s->write(std::string(kLastChunk));
  } else {
    Headers extra;
    if (err.retry_after_s > 0) extra.emplace_back("Retry-After", std::to_string(err.retry_after_s));
    emit(http_response(err.status, "application/json", error_body(err), keep_alive_, extra));
  }
  end();
}

void Generation::record(const Choice& c, const JobEvent& done) {
  FinishedJob f;
  f.reason = done.finish_reason;
  f.prompt_tokens = done.usage.prompt_tokens;
  f.generation_tokens = done.usage.completion_tokens;
  f.queue_s = done.timing.queue_ms / 1000.0;
  f.ttft_s = done.timing.ttft_ms / 1000.0;
  f.e2e_s = std::chrono::duration<double>(Clock::now() - start_).count();
  auto& m = core_.metrics();
  m.record_finished(f);
  // Non-streamed jobs send no deltas: their inter-token gaps from the timing.
  if (!request_.stream && done.usage.completion_tokens > 1)
    m.record_inter_token((done.timing.total_ms - done.timing.ttft_ms) / 1000.0 / (done.usage.completion_tokens - 1),
                         static_cast<uint64_t>(done.usage.completion_tokens - 1));
  (void)c;
}

}  // namespace loom::http
