// Test helpers: endpoint addresses (ipc:// in a temp dir, tcp:// on an
// ephemeral port) and a raw DEALER that sends bytes and reads frames.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "adapters/zmq/codec.h"

namespace loom::test {

inline std::string ipc_address(std::string name) {
  std::replace(name.begin(), name.end(), '/', '_');
  name = name.substr(0, 40);  // ipc paths must fit sun_path (108 bytes)
  auto dir = std::filesystem::temp_directory_path() / ("loom_zmq_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return "ipc://" + (dir / name).string();
}

inline std::string address_for(const std::string& transport, const std::string& name) {
  return transport == "ipc" ? ipc_address(name) : "tcp://127.0.0.1:*";
}

class RawClient {
 public:
  RawClient(zmq::context_t& ctx, const std::string& address) : socket_(ctx, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(address);
  }
  void send(const std::string& bytes) { socket_.send(zmq::buffer(bytes), zmq::send_flags::none); }
  // The next frame within `timeout`, decoded; nullopt on timeout.
  std::optional<zmq_proto::ServerMessage> recv(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    zmq::message_t msg;
    EXPECT_TRUE(socket_.recv(msg));
    return zmq_proto::decode_server_frame(msg.to_string_view());
  }
  // Frames up to and including the terminal one for `id`.
  std::vector<zmq_proto::ServerMessage> until_terminal(const std::string& id) {
    std::vector<zmq_proto::ServerMessage> out;
    for (;;) {
      auto m = recv();
      if (!m) {
        ADD_FAILURE() << "no terminal message for " << id;
        return out;
      }
      out.push_back(*m);
      if (m->id == id && (m->type == zmq_proto::ServerMessage::Type::kDone ||
                          m->type == zmq_proto::ServerMessage::Type::kError)) {
        return out;
      }
    }
  }
  void close() { socket_.close(); }
  zmq::socket_t& socket() { return socket_; }

 private:
  zmq::socket_t socket_;
};

// Polls `cond` until it holds or 5 s pass (a bound, not a measurement).
template <typename Cond>
bool eventually(Cond cond) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

}  // namespace loom::test
