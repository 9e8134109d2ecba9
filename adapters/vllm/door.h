// The vLLM EngineCore door: Loom as data-parallel engine `engine_index` of an
// unmodified `vllm serve` frontend (0.33.0) running in external-engine mode.
// It depends only on loom::EngineApi.
//
//   vllm serve DIR --data-parallel-address 127.0.0.1 --data-parallel-rpc-port 29550
//                  --data-parallel-size 1 --data-parallel-size-local 0
//   VllmDoor door(engine, {.handshake_address = "tcp://127.0.0.1:29550"});
//
// The constructor connects to the frontend's handshake socket and shakes
// hands; then one I/O thread serves ADD / ABORT / UTILITY and streams
// EngineCoreOutputs. drain() finishes the jobs in flight and sends
// ENGINE_CORE_DEAD, so the frontend fails fast instead of hanging; so does
// an engine whose health() stays bad past unhealthy_grace.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "contract/engine_api.h"

namespace loom {

struct VllmDoorOptions {
  std::string handshake_address;  // the frontend's --data-parallel-address:--data-parallel-rpc-port
  int64_t engine_index = 0;
  std::chrono::milliseconds handshake_timeout{std::chrono::minutes(5)};
  // Reported to the frontend in the ready response (its cache metrics).
  int64_t block_size = 16;
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 8192;
  std::chrono::milliseconds stats_interval{100};   // scheduler stats, when they changed
  std::chrono::milliseconds health_interval{1000};
  // health() bad for this long: ENGINE_CORE_DEAD. Long, because a slow first
  // step (a long prefill, the SIMT emulator) also reads as "no progress".
  std::chrono::milliseconds unhealthy_grace{std::chrono::seconds(60)};
};

struct VllmDoorCounters {
  int64_t adds = 0, aborts = 0, utility_calls = 0;
  int64_t refused = 0;            // ADDs answered with a finished-with-error output
  int64_t dropped_frames = 0;     // frames that are not a vLLM message: dropped, never answered
  int64_t mismatched_frames = 0;  // well-formed messages in another version's layout
  int64_t output_frames = 0;
};

// The handshake failed: the message is one line for the operator.
struct VllmDoorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class VllmDoor {
 public:
  VllmDoor(EngineApi& engine, VllmDoorOptions options);
  ~VllmDoor();  // stops the I/O thread; cancels jobs in flight; no ENGINE_CORE_DEAD
  VllmDoor(const VllmDoor&) = delete;
  VllmDoor& operator=(const VllmDoor&) = delete;

  // New ADDs finish with ABORT (as vLLM's own engine does in shutdown); jobs in
  // flight get up to `timeout`, then are cancelled; then ENGINE_CORE_DEAD.
  void drain(std::chrono::milliseconds timeout);
  // A fatal engine error: ENGINE_CORE_DEAD now.
  void fail(const std::string& why);
  // True once the door sent ENGINE_CORE_DEAD by itself (the engine went bad).
  bool dead() const;
  VllmDoorCounters counters() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom
