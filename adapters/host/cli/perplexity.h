// llama-perplexity's procedure (llama.cpp tools/perplexity, the default, not
// strided, mode), over the engine's prompt log-probabilities:
//   - the whole text is tokenized once, with the model's BOS;
//   - it is cut into non-overlapping windows of n_ctx tokens (the tail that
//     does not fill a window is dropped; at least 2 * n_ctx tokens needed);
//     --chunks N keeps the first N windows;
//   - each window's first token is replaced by BOS (when the model adds one)
//     and the window is evaluated on its own (a fresh context);
//   - only the second half is scored: the positions p in [n_ctx/2, n_ctx - 2]
//     and their next tokens, n_ctx - n_ctx/2 - 1 per window;
//   - PPL = exp(mean NLL); its error = PPL * sqrt((E[NLL^2] - E[NLL]^2) /
//     (count - 1)), the standard error of the mean NLL carried through exp.
// Pure arithmetic; the command (cmd_perplexity.cpp) feeds it the engine's
// values.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace loom::cli {

// Windows to evaluate: tokens / n_ctx, capped by max_chunks (< 0: no cap).
// Throws std::invalid_argument when n_ctx < 2 or there are fewer than
// 2 * n_ctx tokens (llama-perplexity's rule, with its message).
int perplexity_windows(size_t n_tokens, int n_ctx, int max_chunks);

// Window `index`: tokens [index * n_ctx, (index + 1) * n_ctx), its first one
// replaced by `bos` when the model adds a BOS.
std::vector<int32_t> perplexity_window(std::span<const int32_t> tokens, int n_ctx, int index,
                                       std::optional<int32_t> bos);

class PerplexityAccumulator {
 public:
  explicit PerplexityAccumulator(int n_ctx);
  // One window's prompt log-probabilities: n_ctx - 1 values, entry p =
  // log P(window[p + 1] | window[0..p]). Throws on another count.
  void add_window(std::span<const float> prompt_logprobs);

  int windows() const { return windows_; }
  int64_t count() const { return count_; }  // scored tokens so far
  double ppl() const;                       // exp(mean NLL)
  // The +/- of the final estimate; nullopt when the variance is not positive
  // (llama-perplexity then prints an error instead of the estimate).
  std::optional<double> error() const;
  // "[3]17.8938," as llama-perplexity prints after each window.
  std::string progress() const;
  // "Final estimate: PPL = 18.3459 +/- 0.86234"
  std::string final_line() const;

 private:
  int n_ctx_;
  int first_;  // n_ctx / 2
  int windows_ = 0;
  int64_t count_ = 0;
  double nll_ = 0;   // sum of -log p
  double nll2_ = 0;  // sum of (log p)^2
};

}  // namespace loom::cli
