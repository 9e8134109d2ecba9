// Prints the protocol's costs as a table (see README.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <unistd.h>
#include <vector>
#include <zmq.hpp>

#include "adapters/zmq/client.h"
#include "adapters/zmq/codec.h"
#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace zp = loom::zmq_proto;

double ns_since(Clock::time_point t) { return std::chrono::duration<double, std::nano>(Clock::now() - t).count(); }

loom::JobRequest trivial_job(int max_tokens) {
  loom::JobRequest r;
  r.prompt.value = std::string("Write a haiku about the sea.");
  r.params.max_tokens = max_tokens;
  r.params.stop = {"\n\n"};
  return r;
}

void bench_codec() {
  const int n = 200000;
  loom::JobRequest job = trivial_job(128);
  job.id = "job-123";
  const std::string frame = zp::encode_generate(job);
  zp::Limits limits;
  auto t = Clock::now();
  size_t sink = 0;
  for (int i = 0; i < n; ++i) sink += zp::decode_client_frame(frame, limits).ignored_fields.size();
  const double decode_ns = ns_since(t) / n;
  loom::JobEvent delta;
  delta.text = " the";
  delta.token_ids = {260};
  t = Clock::now();
  for (int i = 0; i < n; ++i) sink += zp::encode_event(delta, "job-123", false).size();
  const double encode_ns = ns_since(t) / n;
  std::printf("| codec: decode+validate generate (%zu B) | %.0f ns |\n", frame.size(), decode_ns);
  std::printf("| codec: encode delta | %.0f ns |%s\n", encode_ns, sink == 0 ? " " : "");
}

void bench_round_trip(const std::string& name, const std::string& address, int jobs) {
  loom::testing::FakeEngine engine;
  loom::EndpointOptions options;
  options.address = address;
  loom::ZmqEndpoint endpoint(engine, options);
  loom::ZmqClient client({endpoint.address(), std::chrono::seconds(10), std::chrono::seconds(2)});
  for (int i = 0; i < 200; ++i) client.generate_all(trivial_job(1));  // warm up
  std::vector<double> us;
  us.reserve(jobs);
  for (int i = 0; i < jobs; ++i) {
    const auto t = Clock::now();
    client.generate_all(trivial_job(1));
    us.push_back(ns_since(t) / 1000.0);
  }
  std::sort(us.begin(), us.end());
  const double mean = std::accumulate(us.begin(), us.end(), 0.0) / us.size();
  std::printf("| round trip, %s (p50 / p99 / mean) | %.1f / %.1f / %.1f us |\n", name.c_str(),
              us[us.size() / 2], us[us.size() * 99 / 100], mean);
}

void bench_throughput(const std::string& address_in, int jobs_per_client) {
  const int clients = 8, tokens = 16;
  loom::testing::FakeEngine engine;
  loom::EndpointOptions options;
  options.address = address_in;
  loom::ZmqEndpoint endpoint(engine, options);
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> socks;
  for (int c = 0; c < clients; ++c) {
    socks.emplace_back(ctx, zmq::socket_type::dealer);
    socks.back().connect(endpoint.address());
  }
  const auto t = Clock::now();
  int64_t frames = 0, terminals = 0, sent = 0;
  const int64_t total = int64_t{clients} * jobs_per_client;
  const int window = 64;  // jobs in flight per client
  std::vector<int> next(clients, 0), open(clients, 0);
  while (terminals < total) {
    for (int c = 0; c < clients; ++c) {
      while (open[c] < window && next[c] < jobs_per_client) {
        loom::JobRequest r = trivial_job(tokens);
        r.id = std::to_string(next[c]++);
        socks[c].send(zmq::buffer(zp::encode_generate(r)), zmq::send_flags::none);
        ++open[c];
        ++sent;
      }
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& s : socks) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(1000));
    for (int c = 0; c < clients; ++c) {
      zmq::message_t msg;
      while (socks[c].recv(msg, zmq::recv_flags::dontwait)) {
        ++frames;
        zp::ServerMessage m = zp::decode_server_frame(msg.to_string_view());
        if (m.type != zp::ServerMessage::Type::kDelta) {
          ++terminals;
          --open[c];
        }
      }
    }
  }
  const double s = ns_since(t) / 1e9;
  std::printf("| endpoint throughput (%d clients, %d-token jobs) | %.0f frames/s, %.0f jobs/s |\n", clients,
              tokens, frames / s, terminals / s);
}

}  // namespace

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::atoi(argv[1]) : 2000;
  const auto dir = std::filesystem::temp_directory_path() / ("loom_bench_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::printf("| measure | value |\n| --- | --- |\n");
  bench_codec();
  bench_round_trip("ipc://", "ipc://" + (dir / "rt.sock").string(), jobs);
  bench_round_trip("tcp://127.0.0.1", "tcp://127.0.0.1:*", jobs);
  bench_throughput("ipc://" + (dir / "tp.sock").string(), jobs);
  std::filesystem::remove_all(dir);
  return 0;
}
