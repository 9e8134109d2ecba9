#include "adapters/host/cli/job_options.h"

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace loom::cli {

void add_job_options(CLI::App& cmd, JobParams& p) {
  auto& s = p.sampling;
  cmd.add_option("-n,--max-tokens", p.max_tokens, "tokens to generate at most")->capture_default_str();
  cmd.add_option("--temperature", s.temperature, "0 for greedy")->capture_default_str();
  cmd.add_option("--top-k", s.top_k, "0: off");
  cmd.add_option("--top-p", s.top_p, "in (0, 1]");
  cmd.add_option("--min-p", s.min_p, "in [0, 1]");
  cmd.add_option("--repetition-penalty", s.repetition_penalty, "1: off");
  cmd.add_option("--presence-penalty", s.presence_penalty);
  cmd.add_option("--frequency-penalty", s.frequency_penalty);
  cmd.add_option("--seed", s.seed, "makes sampling reproducible")->each([&s](const std::string&) {
    s.has_seed = true;
  });
  cmd.add_flag("--ignore-eos", p.ignore_eos, "keep going past end-of-generation");
  cmd.add_option("--stop", p.stop, "stop before this text (never printed); repeatable");
  cmd.add_option("--stop-token-id", p.stop_token_ids, "stop at this token id; repeatable");
}

JobEvent run_job(EngineApi& engine, JobRequest request, const std::function<void(std::string_view)>& on_text) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<JobEvent> terminal;
  engine.submit(std::move(request), [&](const JobEvent& ev) {
    if (ev.kind == JobEvent::Kind::kDelta) {
      if (!ev.text.empty()) on_text(ev.text);
      return;
    }
    std::lock_guard lock(mu);
    terminal = ev;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return terminal.has_value(); });
  return *terminal;
}

void report_job(const JobEvent& t) {
  if (t.kind == JobEvent::Kind::kError)
    throw std::runtime_error(std::string(error_code_name(t.error_code)) + ": " + t.message);
  const double decode_s = std::max((t.timing.total_ms - t.timing.ttft_ms) / 1e3, 1e-9);
  std::fprintf(stderr, "\n[%d prompt tokens (%d cached), first token %.0f ms | %d tokens, %.1f tok/s | %s]\n",
               t.usage.prompt_tokens, t.usage.cached_tokens, t.timing.ttft_ms, t.usage.completion_tokens,
               std::max(t.usage.completion_tokens - 1, 0) / decode_s, finish_reason_name(t.finish_reason));
}

}  // namespace loom::cli
