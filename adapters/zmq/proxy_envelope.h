// Worker <-> proxy envelopes (PROTOCOL.md, "Proxy"). A worker is a backend
// endpoint in worker mode: a DEALER connected to the proxy's worker-facing
// ROUTER. Client frames travel inside envelopes, untouched.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace loom::zmq_proto {

struct Envelope {
  enum class Type {
    kJob,        // proxy -> worker: {client, frame}
    kHeartbeat,  // both ways; worker -> proxy carries worker, capacity, load, draining
    kReady,      // worker -> proxy, first message: worker, capacity, load, draining
    kReply,      // worker -> proxy: {client, frame}
  } type = Type::kJob;
  std::string client;  // opaque client key chosen by the proxy (kJob, kReply)
  std::string frame;   // one client<->backend protocol frame (kJob, kReply)
  std::string worker;  // kReady, kHeartbeat from a worker
  int32_t capacity = 0;
  int32_t load = 0;    // jobs in flight on the worker
  bool draining = false;
};

std::string encode_envelope(const Envelope& e);
// Throws ProtocolViolation (codec.h) on a malformed envelope.
Envelope decode_envelope(std::string_view frame);

}  // namespace loom::zmq_proto
