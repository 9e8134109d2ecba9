// The vLLM frontend's side of the EngineCore sockets, for the door tests:
// the handshake ROUTER, the input ROUTER and the output PULL, bound on
// ephemeral tcp ports, fed with frames recorded from a real `vllm serve`
// (tests/fixtures/vllm/frames.msgpack, made by tests/vllm/capture_frames.py);
// and a scripted EngineApi whose jobs the test finishes by hand.
#pragma once
#include <gtest/gtest.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <zmq.hpp>

#include "contract/engine_api.h"
#include "tests/vllm/msgpack_tree.h"

namespace loom::test {

struct Recorded {
  std::string label, name;
  std::vector<std::string> frames;
};

inline std::vector<Recorded> load_fixture() {
  std::ifstream in(std::string(LOOM_FIXTURES_DIR) + "/vllm/frames.msgpack", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const V all = unpack(ss.str());
  std::vector<Recorded> out;
  for (const V& r : all.a) {
    Recorded rec;
    rec.label = r.at("label").s;
    if (const V* n = r.find("name")) rec.name = n->s;
    for (const V& f : r.at("frames").a) rec.frames.push_back(f.s);
    out.push_back(std::move(rec));
  }
  return out;
}

class ScriptedEngine : public EngineApi {
 public:
  void submit(JobRequest request, JobCallback callback) override {
    std::lock_guard lock(mu_);
    callbacks_[request.id] = std::move(callback);
    submitted_.push_back(std::move(request));
    cv_.notify_all();
  }
  void cancel(const std::string& id) override {
    std::lock_guard lock(mu_);
    cancelled_.push_back(id);
    cv_.notify_all();
  }
  EngineStats stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }
  EngineHealth health() const override { return {healthy_.load(), 0, healthy_ ? "" : "stuck"}; }
  ModelInfo model_info() const override { return {"scripted", 2048, 49152, {2}}; }
  std::vector<int32_t> tokenize(const std::string&, bool, bool) const override { return {}; }
  std::string detokenize(const std::vector<int32_t>&) const override { return {}; }

  // The job with this id, once the door submitted it.
  JobRequest wait_submitted(const std::string& id) {
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(5), [&] { return find(id) != nullptr; });
    if (!ok) throw std::runtime_error("never submitted: " + id);
    return *find(id);
  }
  bool wait_cancelled(const std::string& id) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5),
                        [&] { return std::find(cancelled_.begin(), cancelled_.end(), id) != cancelled_.end(); });
  }
  size_t num_submitted() {
    std::lock_guard lock(mu_);
    return submitted_.size();
  }
  void emit(const std::string& id, JobEvent ev) {
    JobCallback cb;
    {
      std::lock_guard lock(mu_);
      cb = callbacks_.at(id);
    }
    ev.id = id;
    cb(ev);
  }
  void tokens(const std::string& id, std::vector<int32_t> ids, std::vector<TokenLogprobs> lps = {}) {
    JobEvent ev;
    ev.kind = JobEvent::Kind::kDelta;
    ev.token_ids = std::move(ids);
    ev.logprobs = std::move(lps);
    emit(id, ev);
  }
  void done(const std::string& id, FinishReason reason) {
    JobEvent ev;
    ev.kind = JobEvent::Kind::kDone;
    ev.finish_reason = reason;
    emit(id, ev);
  }
  void set_stats(EngineStats s) {
    std::lock_guard lock(mu_);
    stats_ = s;
  }
  std::atomic<bool> healthy_{true};

 private:
  const JobRequest* find(const std::string& id) const {
    for (const auto& r : submitted_) if (r.id == id) return &r;
    return nullptr;
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<JobRequest> submitted_;
  std::vector<std::string> cancelled_;
  std::map<std::string, JobCallback> callbacks_;
  EngineStats stats_;
};

class FrontendSim {
 public:
  FrontendSim()
      : handshake_(ctx_, zmq::socket_type::router), input_(ctx_, zmq::socket_type::router),
        output_(ctx_, zmq::socket_type::pull) {
    for (auto* s : {&handshake_, &input_, &output_}) {
      s->set(zmq::sockopt::linger, 0);
      s->bind("tcp://127.0.0.1:*");
    }
  }
  std::string handshake_address() { return handshake_.get(zmq::sockopt::last_endpoint); }
  std::string input_address() { return input_.get(zmq::sockopt::last_endpoint); }
  std::string output_address() { return output_.get(zmq::sockopt::last_endpoint); }

  // [identity, payload] from a ROUTER, within 5 s.
  std::optional<std::pair<std::string, std::string>> recv_router(zmq::socket_t& s) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(5)) == 0) return std::nullopt;
    zmq::message_t id, payload;
    (void)s.recv(id);
    (void)s.recv(payload);
    return std::make_pair(id.to_string(), payload.to_string());
  }
  // The next output frame within `timeout` (raw bytes).
  std::optional<std::string> recv_output(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    zmq::pollitem_t item{output_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    zmq::message_t m;
    (void)output_.recv(m);
    return m.to_string();
  }
  // The next EngineCoreOutputs that is not a stats-only batch.
  std::optional<V> recv_outputs() {
    for (;;) {
      auto raw = recv_output();
      if (!raw) return std::nullopt;
      V v = unpack(*raw);
      if (v.a.size() > 4 && !v.a[4].is_nil()) return v;  // utility reply
      if (!v.a[1].a.empty()) return v;
    }
  }
  void send_input(const std::string& engine_identity, const std::vector<std::string>& frames) {
    input_.send(zmq::buffer(engine_identity), zmq::send_flags::sndmore);
    for (size_t i = 0; i < frames.size(); ++i)
      input_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

  zmq::context_t ctx_{1};
  zmq::socket_t handshake_, input_, output_;
};

}  // namespace loom::test
