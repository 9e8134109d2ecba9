// loom perplexity: llama-perplexity's measurement (perplexity.h) through a
// backend .so. Each window is one job with prompt_logprobs (ABI 1.2), so the
// engine returns log P(next token) at every position of the window; a few
// windows run at once, batched by the engine's scheduler.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "adapters/host/cli/backend_options.h"
#include "adapters/host/cli/commands.h"
#include "adapters/host/cli/perplexity.h"

namespace loom::cli {
namespace {

constexpr int kParallel = 4;  // windows in flight (llama-perplexity's default batch holds 4 of 512)

struct PerplexityArgs {
  BackendOptions backend;
  std::string file;
  int ctx = 512;
  int chunks = -1;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read --file '" + path + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The windows' results as they arrive on the engine's output thread.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, std::vector<float>> done;
  std::map<int, std::string> failed;
};

void run_perplexity(PerplexityArgs args) {
  const std::string text = read_file(args.file);
  if (args.ctx < 2) throw std::invalid_argument("--ctx must be at least 2");
  args.backend.ctx = args.ctx + 1;  // a window's prompt plus the one token every job samples
  auto engine = open_engine(args.backend, "loom perplexity");

  std::fprintf(stderr, "perplexity: tokenizing the input ..\n");
  const auto t_tok = std::chrono::steady_clock::now();
  const std::vector<int32_t> tokens =
      engine->tokenize(text, /*add_special=*/true, /*parse_special=*/false);
  std::fprintf(stderr, "perplexity: tokenization took %g ms\n", seconds_since(t_tok) * 1e3);
  // The model adds a BOS iff tokenizing nothing with specials yields a token
  // that also leads the text.
  const std::vector<int32_t> specials = engine->tokenize("", true, false);
  std::optional<int32_t> bos;
  if (!specials.empty() && !tokens.empty() && tokens.front() == specials.front())
    bos = specials.front();

  const int n_windows = perplexity_windows(tokens.size(), args.ctx, args.chunks);
  std::fprintf(stderr,
               "perplexity: calculating perplexity over %d chunks, n_ctx=%d, %d in parallel\n",
               n_windows, args.ctx, std::min(kParallel, n_windows));

  Results results;
  auto submit = [&](int index) {
    JobRequest job;
    job.id = "ppl-" + std::to_string(index);
    job.prompt.value = perplexity_window(tokens, args.ctx, index, bos);
    job.params.max_tokens = 1;
    job.params.sampling.temperature = 0;
    job.params.prompt_logprobs = 1;
    job.stream = false;
    engine->submit(std::move(job), [&results, index](const JobEvent& ev) {
      if (ev.kind == JobEvent::Kind::kDelta) return;
      std::lock_guard lock(results.mu);
      if (ev.kind == JobEvent::Kind::kError) {
        results.failed[index] = ev.message;
      } else {
        results.done[index] = ev.prompt_logprobs;
      }
      results.cv.notify_all();
    });
  };

  PerplexityAccumulator acc(args.ctx);
  const auto t_start = std::chrono::steady_clock::now();
  int submitted = 0;
  for (int next = 0; next < n_windows; ++next) {
    while (submitted < n_windows && submitted < next + kParallel) submit(submitted++);
    std::vector<float> lp;
    {
      std::unique_lock lock(results.mu);
      results.cv.wait(lock, [&] { return !results.failed.empty() || results.done.count(next); });
      if (!results.failed.empty()) {
        const auto& [index, message] = *results.failed.begin();
        throw std::runtime_error("window " + std::to_string(index + 1) + ": " + message);
      }
      lp = std::move(results.done[next]);
      results.done.erase(next);
    }
    if (lp.size() != static_cast<size_t>(args.ctx - 1))
      throw std::runtime_error("window " + std::to_string(next + 1) + ": the backend returned " +
                               std::to_string(lp.size()) + " prompt logprobs for " +
                               std::to_string(args.ctx) + " tokens");
    acc.add_window(lp);
    if (next == 0) {
      const double t = seconds_since(t_start);
      std::fprintf(stderr, "perplexity: %.2f seconds per pass - ETA %.2f minutes\n", t,
                   t * n_windows / std::min(kParallel, n_windows) / 60.0);
    }
    std::printf("%s", acc.progress().c_str());
    std::fflush(stdout);
  }
  std::printf("\n%s\n", acc.final_line().c_str());
  std::fflush(stdout);
  if (!acc.error())
    throw std::runtime_error("the variance of the log-probabilities is not positive");
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  auto args = std::make_shared<PerplexityArgs>();
  args->backend.default_max_num_seqs = kParallel;
  auto* cmd = app.add_subcommand("perplexity",
                                 "perplexity of a text file, computed the way llama-perplexity "
                                 "does (second half of each window)");
  add_backend_options(*cmd, args->backend, /*model_required=*/true, /*ctx_option=*/false);
  cmd->add_option("-f,--file", args->file, "the text file")->required();
  cmd->add_option("-c,--ctx", args->ctx, "tokens per window (llama-perplexity's --ctx-size)")
      ->capture_default_str();
  cmd->add_option("--chunks", args->chunks, "evaluate at most this many windows (default: all)");
  cmd->callback([args] { run_perplexity(*args); });
}

}  // namespace loom::cli
