// loom_zmq_fake_server ADDRESS [STEP_US] [KEEPALIVE_MS]: a ZmqEndpoint over
// FakeEngine, for the Python client's tests and the benchmark. Prints the
// bound address on stdout, then serves until stdin closes or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "adapters/zmq/endpoint.h"
#include "adapters/zmq/fake_engine.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ADDRESS [STEP_US] [KEEPALIVE_MS]\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  loom::testing::FakeEngine engine(std::chrono::microseconds(argc > 2 ? std::atoll(argv[2]) : 0));
  loom::EndpointOptions options;
  options.address = argv[1];
  if (argc > 3) options.keepalive = std::chrono::milliseconds(std::atoll(argv[3]));
  try {
    loom::ZmqEndpoint endpoint(engine, options);
    std::printf("%s\n", endpoint.address().c_str());
    std::fflush(stdout);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    endpoint.drain(std::chrono::seconds(2));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
