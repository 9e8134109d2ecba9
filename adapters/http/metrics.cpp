#include "adapters/http/metrics.h"

#include <cstdio>
#include <cstdlib>

namespace loom::http {
namespace {

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py), so its dashboards'
// quantile queries read the same.
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
                                          1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kItlBuckets = {0.01, 0.025, 0.05, 0.075, 0.1,  0.15, 0.2,  0.3,  0.4, 0.5,
                                         0.75, 1.0,   2.5,  5.0,   7.5,  10.0, 20.0, 40.0, 80.0};
const std::vector<double> kLatencyBuckets = {0.3,  0.5,  0.8,  1.0,  1.5,  2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                             30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

// The shortest text that reads back as `v` ("0.06", not "0.059999999999999998"):
// bucket labels must match vLLM's exactly for dashboards' `le` selectors.
std::string number(double v) {
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A bucket bound as the Python client writes it (float repr: "1.0", "0.06").
std::string bound(double v) {
  std::string s = number(v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const std::string& name, const std::string& labels, double value) {
  out += name + "{" + labels + "} " + number(value) + "\n";
}

void gauge(std::string& out, const char* name, const char* help, const std::string& labels, double v) {
  header(out, name, "gauge", help);
  sample(out, name, labels, v);
}

void counter(std::string& out, const char* name, const char* help, const std::string& labels, double v) {
  header(out, name, "counter", help);
  sample(out, name, labels, v);
}

const char* reason_label(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled:
    case FinishReason::kDeadline: return "abort";
  }
  return "stop";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value, uint64_t times) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i] += times;
  sum_ += value * static_cast<double>(times);
  count_ += times;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? bound(bounds_[i]) : "+Inf";
    sample(out, name + "_bucket", labels + ",le=\"" + le + "\"", static_cast<double>(cumulative));
  }
  sample(out, name + "_sum", labels, sum_);
  sample(out, name + "_count", labels, static_cast<double>(count_));
}

std::vector<double> buckets_1_2_5(int64_t max) {
  std::vector<double> out;
  for (int64_t base = 1;; base *= 10) {
    for (int64_t m : {1, 2, 5}) {
      if (base * m > max) return out;
      out.push_back(static_cast<double>(base * m));
    }
  }
}

DoorMetrics::DoorMetrics(int64_t max_context)
    : ttft_(kTtftBuckets),
      itl_(kItlBuckets),
      e2e_(kLatencyBuckets),
      queue_(kLatencyBuckets),
      prompt_tokens_(buckets_1_2_5(std::max<int64_t>(1, max_context))),
      generation_tokens_(buckets_1_2_5(std::max<int64_t>(1, max_context))) {
  for (const char* r : {"stop", "length", "abort"}) success_[r] = 0;
}

void DoorMetrics::record_finished(const FinishedJob& job) {
  std::lock_guard lock(mu_);
  ++success_[reason_label(job.reason)];
  ttft_.observe(job.ttft_s);
  e2e_.observe(job.e2e_s);
  queue_.observe(job.queue_s);
  prompt_tokens_.observe(static_cast<double>(job.prompt_tokens));
  generation_tokens_.observe(static_cast<double>(job.generation_tokens));
}

void DoorMetrics::record_inter_token(double seconds, uint64_t tokens) {
  if (tokens == 0) return;
  std::lock_guard lock(mu_);
  itl_.observe(seconds, tokens);
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string DoorMetrics::render(const EngineStats& s, const std::string& model_name) const {
  const std::string l = "model_name=\"" + escape_label(model_name) + "\"";
  std::string out;
  gauge(out, "vllm:num_requests_running", "Number of requests in model execution batches.", l, s.running);
  gauge(out, "vllm:num_requests_waiting", "Number of requests waiting to be processed (preempted included).", l,
        s.waiting + s.preempted);
  gauge(out, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", l,
        s.kv_blocks_total > 0 ? static_cast<double>(s.kv_blocks_used) / static_cast<double>(s.kv_blocks_total) : 0.0);
  counter(out, "vllm:num_preemptions_total", "Cumulative number of preemptions from the engine.", l, s.preemptions);
  counter(out, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", l, s.prompt_tokens_total);
  counter(out, "vllm:generation_tokens_total", "Number of generation tokens processed.", l, s.generation_tokens_total);
  counter(out, "vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", l,
          s.prefix_query_tokens);
  counter(out, "vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", l,
          s.prefix_hit_tokens);
  std::lock_guard lock(mu_);
  header(out, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (const auto& [reason, n] : success_)
    sample(out, "vllm:request_success_total", l + ",finished_reason=\"" + reason + "\"", static_cast<double>(n));
  const struct {
    const char* name;
    const char* help;
    const Histogram* h;
  } hists[] = {
      {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", &ttft_},
      {"vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", &itl_},
      {"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", &e2e_},
      {"vllm:request_queue_time_seconds", "Histogram of time spent waiting in the queue in seconds.", &queue_},
      {"vllm:request_prompt_tokens", "Number of prefill tokens processed per request.", &prompt_tokens_},
      {"vllm:request_generation_tokens", "Number of generation tokens processed per request.", &generation_tokens_},
  };
  for (const auto& h : hists) {
    header(out, h.name, "histogram", h.help);
    h.h->render(out, h.name, l);
  }
  return out;
}

}  // namespace loom::http
