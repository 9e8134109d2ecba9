#include "adapters/host/cli/perplexity.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace loom::cli {

int perplexity_windows(size_t n_tokens, int n_ctx, int max_chunks) {
  if (n_ctx < 2)
    throw std::invalid_argument("--ctx must be at least 2, got " + std::to_string(n_ctx));
  if (n_tokens < 2 * static_cast<size_t>(n_ctx))
    throw std::invalid_argument("you need at least " + std::to_string(2 * n_ctx) +
                                " tokens to evaluate perplexity with a context of " +
                                std::to_string(n_ctx) + "; the file tokenizes to only " +
                                std::to_string(n_tokens) + " tokens");
  const int all = static_cast<int>(n_tokens / static_cast<size_t>(n_ctx));
  return max_chunks < 0 ? all : std::min(max_chunks, all);
}

std::vector<int32_t> perplexity_window(std::span<const int32_t> tokens, int n_ctx, int index,
                                       std::optional<int32_t> bos) {
  const size_t start = static_cast<size_t>(index) * n_ctx;
  if (index < 0 || start + n_ctx > tokens.size())
    throw std::out_of_range("perplexity window past the text");
  std::vector<int32_t> window(tokens.begin() + start, tokens.begin() + start + n_ctx);
  if (bos) window[0] = *bos;
  return window;
}

PerplexityAccumulator::PerplexityAccumulator(int n_ctx) : n_ctx_(n_ctx), first_(n_ctx / 2) {
  if (n_ctx < 2) throw std::invalid_argument("n_ctx must be at least 2");
}

void PerplexityAccumulator::add_window(std::span<const float> lp) {
  if (lp.size() != static_cast<size_t>(n_ctx_ - 1))
    throw std::invalid_argument("a window of " + std::to_string(n_ctx_) + " tokens has " +
                                std::to_string(n_ctx_ - 1) + " prompt logprobs, got " +
                                std::to_string(lp.size()));
  for (int p = first_; p < n_ctx_ - 1; ++p) {
    const double v = -static_cast<double>(lp[p]);
    nll_ += v;
    nll2_ += v * v;
  }
  count_ += n_ctx_ - first_ - 1;
  ++windows_;
}

double PerplexityAccumulator::ppl() const {
  return count_ ? std::exp(nll_ / count_) : 0.0;
}

std::optional<double> PerplexityAccumulator::error() const {
  if (count_ < 2) return std::nullopt;
  const double mean = nll_ / count_;
  const double var = nll2_ / count_ - mean * mean;
  if (!(var > 0)) return std::nullopt;
  return std::sqrt(var / (count_ - 1)) * ppl();
}

std::string PerplexityAccumulator::progress() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "[%d]%.4f,", windows_, ppl());
  return buf;
}

std::string PerplexityAccumulator::final_line() const {
  const auto err = error();
  if (!err) return "Unexpected negative standard deviation of log(prob)";
  char buf[96];
  std::snprintf(buf, sizeof buf, "Final estimate: PPL = %.4f +/- %.5f", ppl(), *err);
  return buf;
}

}  // namespace loom::cli
