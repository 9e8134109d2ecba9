// Test harness: a real `loom-proxy` process, fake-engine worker processes
// (loom_zmq_fake_server --proxy), and a raw DEALER client that records every
// frame per job id and counts any frame after a job's terminal one.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <zmq.hpp>

#include "adapters/zmq/codec.h"
#include "tests/proxy/process.h"

namespace loom::test {

using ServerMessage = zmq_proto::ServerMessage;
using namespace std::chrono_literals;

// The proxy's `stats` reply, read straight from msgpack (the extension
// fields are not in the C++ client's StatsReply).
struct ProxyView {
  std::map<std::string, int64_t> ints;        // top-level integer fields
  std::map<std::string, int64_t> loads;       // worker name -> load it reported itself
  std::map<std::string, int64_t> capacities;  // worker name -> capacity
  int64_t get(const std::string& key) const { return ints.count(key) ? ints.at(key) : -1; }
};

inline ProxyView parse_proxy_stats(std::string_view frame) {
  ProxyView view;
  msgpack::object_handle h = msgpack::unpack(frame.data(), frame.size());
  for (const auto& kv : h.get().as<std::map<std::string, msgpack::object>>()) {
    if (kv.second.type == msgpack::type::POSITIVE_INTEGER) view.ints[kv.first] = kv.second.as<int64_t>();
    if (kv.first != "worker_list") continue;
    for (const auto& w : kv.second.as<std::vector<std::map<std::string, msgpack::object>>>()) {
      view.loads[w.at("name").as<std::string>()] = w.at("load").as<int64_t>();
      view.capacities[w.at("name").as<std::string>()] = w.at("capacity").as<int64_t>();
    }
  }
  return view;
}

class TestClient {
 public:
  struct Job {
    std::string text;
    int deltas = 0;
    std::optional<ServerMessage> terminal;
    int after_terminal = 0;  // must stay 0: exactly one terminal, nothing after
  };

  TestClient(zmq::context_t& ctx, const std::string& address) : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(address);
  }
  void send(const std::string& frame) { socket_.send(zmq::buffer(frame), zmq::send_flags::none); }

  // Reads one frame within `budget` and records it; false on timeout.
  bool pump(std::chrono::milliseconds budget) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, budget) == 0) return false;
    zmq::message_t msg;
    if (!socket_.recv(msg)) return false;
    ServerMessage m = zmq_proto::decode_server_frame(msg.to_string_view());
    if (m.type == ServerMessage::Type::kStats) {
      last_stats_ = msg.to_string();
      replies_.push_back(m);
    } else if (m.type == ServerMessage::Type::kHealth || !m.id) {
      replies_.push_back(m);
    } else {
      Job& job = jobs[*m.id];
      if (job.terminal) ++job.after_terminal;
      else if (m.type == ServerMessage::Type::kDelta) ++job.deltas, job.text += m.event.text;
      else job.terminal = m;
    }
    return true;
  }
  // Pumps until `cond()` holds or `budget` passes.
  template <typename Cond>
  bool pump_until(Cond cond, std::chrono::milliseconds budget = 5s) {
    const auto end = std::chrono::steady_clock::now() + budget;
    while (!cond()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pump(std::min<std::chrono::milliseconds>(left, 50ms));
    }
    return true;
  }
  const Job* wait_terminal(const std::string& id, std::chrono::milliseconds budget = 5s) {
    pump_until([&] { return jobs.count(id) && jobs[id].terminal.has_value(); }, budget);
    return jobs.count(id) && jobs[id].terminal ? &jobs[id] : nullptr;
  }
  // A stats round trip; jobs' frames read meanwhile are recorded.
  std::optional<ProxyView> stats() {
    const std::string id = "stats-" + std::to_string(++requests_);
    send(zmq_proto::encode_stats_request(id));
    const bool got = pump_until([&] { return !replies_.empty() && replies_.back().id == id; });
    if (!got) return std::nullopt;
    return parse_proxy_stats(last_stats_);
  }
  std::optional<ServerMessage> health() {
    const std::string id = "health-" + std::to_string(++requests_);
    send(zmq_proto::encode_health_request(id));
    if (!pump_until([&] { return !replies_.empty() && replies_.back().id == id; })) return std::nullopt;
    return replies_.back();
  }
  // Polls stats until `cond(view)` holds (bounded).
  template <typename Cond>
  bool stats_until(Cond cond, std::chrono::milliseconds budget = 5s) {
    const auto end = std::chrono::steady_clock::now() + budget;
    do {
      if (auto view = stats(); view && cond(*view)) return true;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < end);
    return false;
  }
  int violations() const {
    int n = 0;
    for (const auto& [id, job] : jobs) n += job.after_terminal;
    return n;
  }

  std::map<std::string, Job> jobs;

 private:
  zmq::socket_t socket_;
  std::deque<ServerMessage> replies_;
  std::string last_stats_;
  int requests_ = 0;
};

inline std::string generate(const std::string& id, const std::string& prompt, int max_tokens, bool stream = true) {
  JobRequest job;
  job.id = id;
  job.prompt.value = prompt;
  job.params.max_tokens = max_tokens;
  job.stream = stream;
  return zmq_proto::encode_generate(job);
}

// What FakeEngine answers for prompt P and n tokens (fake_engine.h).
inline std::string fake_text(const std::string& prompt, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += prompt + ":" + std::to_string(i) + " ";
  return s;
}

class Cluster {
 public:
  // Short heartbeats so failures are detected in well under a second.
  static constexpr int kHeartbeatMs = 100;
  static constexpr int kHeartbeatTimeoutMs = 400;

  explicit Cluster(std::vector<std::string> proxy_flags = {}) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("loom_proxy_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter));
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv = {LOOM_PROXY_BIN,
                                     "--frontend", "ipc://" + (dir_ / "front").string(),
                                     "--backend", "ipc://" + (dir_ / "back").string(),
                                     "--heartbeat-ms", std::to_string(kHeartbeatMs),
                                     "--heartbeat-timeout-ms", std::to_string(kHeartbeatTimeoutMs),
                                     "--queue-ms", "300", "--drain-ms", "500"};
    argv.insert(argv.end(), proxy_flags.begin(), proxy_flags.end());
    proxy_ = std::make_unique<ChildProcess>(argv, (dir_ / "proxy.out").string());
    auto front = proxy_->line_starting("frontend ");
    auto back = proxy_->line_starting("backend ");
    if (!front || !back) throw std::runtime_error("loom-proxy did not print its addresses");
    frontend = *front;
    backend = *back;
  }
  ~Cluster() {
    workers_.clear();
    proxy_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A fake-engine worker: one token per job every `step_us`.
  void start_worker(const std::string& name, int capacity, int step_us = 2000) {
    workers_[name] = std::make_unique<ChildProcess>(
        std::vector<std::string>{LOOM_FAKE_WORKER_BIN, "--proxy", backend, "--name", name, "--capacity",
                                 std::to_string(capacity), "--heartbeat-ms", std::to_string(kHeartbeatMs),
                                 std::to_string(step_us)},
        (dir_ / (name + ".out")).string());
  }
  ChildProcess& worker(const std::string& name) { return *workers_.at(name); }
  void forget_worker(const std::string& name) { workers_.erase(name); }  // SIGKILL + reap
  ChildProcess& proxy() { return *proxy_; }

  std::string frontend, backend;

 private:
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> proxy_;
  std::map<std::string, std::unique_ptr<ChildProcess>> workers_;
};

}  // namespace loom::test
