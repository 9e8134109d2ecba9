// loom_bench_server: the serving benchmark's own backend. It assembles
// CpuModel + CpuExecutor + Engine + ZmqEndpoint like `loom serve` does, but
// lets the benchmark choose the scheduling policy (continuous or the static
// baseline), which the production host does not expose.
//
//   loom_bench_server --model M.gguf --endpoint ipc:///tmp/x.sock
//       [--policy continuous|static|static-padded] [--threads N] [--max-num-seqs S]
//       [--kv-blocks B] [--max-batch-tokens T] [--max-context C]
//
// Prints "ready <address>" on stdout once it serves; SIGTERM/SIGINT drain
// (jobs in flight get up to 10 s) and exit 0. Bad arguments: exit 2.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "adapters/zmq/endpoint.h"
#include "backends/common/engine/engine.h"
#include "backends/cpu/cpu_executor.h"
#include "bench/baselines/baseline_policies.h"
#include "backends/cpu/cpu_model.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct ServerArgs {
  std::string model;
  std::string endpoint;
  loom::baselines::PolicyKind policy = loom::baselines::PolicyKind::kContinuous;
  int32_t threads = 0;
  int32_t max_num_seqs = 32;
  int32_t kv_blocks = 1024;
  int32_t max_batch_tokens = 256;
  int32_t max_context = 2048;
};

class ArgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

int32_t parse_int(const std::string& key, const std::string& value, int32_t min) {
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || v < min || v > (1 << 30))
    throw ArgError(key + " must be an integer >= " + std::to_string(min) + ", got '" + value + "'");
  return static_cast<int32_t>(v);
}

ServerArgs parse_args(int argc, char** argv) {
  ServerArgs a;
  for (int i = 1; i < argc; i += 2) {
    const std::string key = argv[i];
    if (i + 1 >= argc) throw ArgError(key + " needs a value");
    const std::string value = argv[i + 1];
    if (key == "--model") a.model = value;
    else if (key == "--endpoint") a.endpoint = value;
    else if (key == "--threads") a.threads = parse_int(key, value, 0);
    else if (key == "--max-num-seqs") a.max_num_seqs = parse_int(key, value, 1);
    else if (key == "--kv-blocks") a.kv_blocks = parse_int(key, value, 1);
    else if (key == "--max-batch-tokens") a.max_batch_tokens = parse_int(key, value, 1);
    else if (key == "--max-context") a.max_context = parse_int(key, value, 16);
    else if (key == "--policy") {
      if (value == "continuous") a.policy = loom::baselines::PolicyKind::kContinuous;
      else if (value == "static") a.policy = loom::baselines::PolicyKind::kStaticBatch;
      else if (value == "static-padded") a.policy = loom::baselines::PolicyKind::kStaticPadded;
      else throw ArgError("--policy must be continuous, static or static-padded, got '" + value + "'");
    } else {
      throw ArgError("unknown option '" + key + "'");
    }
  }
  if (a.model.empty() || a.endpoint.empty()) throw ArgError("--model and --endpoint are required");
  return a;
}

std::unique_ptr<loom::Engine> make_engine(loom::CpuModel& model, const ServerArgs& a) {
  loom::EngineConfig config;
  config.policy = loom::baselines::make_policy(a.policy, config.max_preemptions);
  config.max_num_seqs = a.max_num_seqs;
  // One step fills at most one forward pass (the scheduler checks >= max_num_seqs).
  config.max_batched_tokens = model.max_batch_tokens();
  config.max_pending_jobs = 4096;  // the load generator, not the engine, bounds the queue
  loom::ModelFacts facts{model.config().name, &model.tokenizer(), model.chat_template(), model.config().n_vocab};
  return std::make_unique<loom::Engine>(config, std::make_unique<loom::CpuExecutor>(model), facts);
}

}  // namespace

int main(int argc, char** argv) {
  ServerArgs args;
  try {
    args = parse_args(argc, argv);
  } catch (const ArgError& e) {
    std::fprintf(stderr, "loom_bench_server: %s\n", e.what());
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  try {
    loom::CpuModelOptions options;
    options.threads = args.threads;
    options.kv_blocks = args.kv_blocks;
    options.max_batch_tokens = args.max_batch_tokens;
    options.max_context = args.max_context;
    auto model = loom::CpuModel::load(args.model, options);
    auto engine = make_engine(*model, args);
    loom::EndpointOptions endpoint_options;
    endpoint_options.address = args.endpoint;
    loom::ZmqEndpoint endpoint(*engine, endpoint_options);
    std::printf("ready %s\n", endpoint.address().c_str());
    std::fflush(stdout);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    endpoint.drain(std::chrono::seconds(10));
    engine->drain(std::chrono::seconds(1));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom_bench_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
