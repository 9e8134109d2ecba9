// The door's Prometheus metrics, with vLLM's names, `model_name` label and
// histogram buckets (README.md lists every one). Histograms and the
// finished-reason counter are fed from the job events the door sees; gauges
// and token/prefix/preemption totals are read from EngineApi::stats() at
// scrape time. Thread-safe.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "contract/engine_api.h"

namespace loom::http {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value, uint64_t times = 1);
  // Prometheus text lines for `name` (cumulative buckets, +Inf, _sum, _count).
  void render(std::string& out, const std::string& name, const std::string& labels) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// vLLM's 1-2-5 series up to `max` ([1, 2, 5, 10, 20, 50, ...]).
std::vector<double> buckets_1_2_5(int64_t max);

// One finished job as the door saw it.
struct FinishedJob {
  FinishReason reason = FinishReason::kStop;
  int64_t prompt_tokens = 0, generation_tokens = 0;
  double queue_s = 0, ttft_s = 0, e2e_s = 0;
};

class DoorMetrics {
 public:
  explicit DoorMetrics(int64_t max_context);
  void record_finished(const FinishedJob& job);
  // Gaps between token arrivals: one observation per token.
  void record_inter_token(double seconds, uint64_t tokens);
  // The whole exposition: engine gauges and totals, then the door's own.
  std::string render(const EngineStats& stats, const std::string& model_name) const;

 private:
  mutable std::mutex mu_;
  Histogram ttft_, itl_, e2e_, queue_, prompt_tokens_, generation_tokens_;
  std::map<std::string, int64_t> success_;  // by vLLM finished_reason
};

// A label value escaped for the text format (\\, \", \n).
std::string escape_label(const std::string& value);

}  // namespace loom::http
