// Worker mode: the endpoint as one of a proxy's workers (PROTOCOL.md, "Proxy").
#include <spdlog/spdlog.h>

#include "adapters/zmq/endpoint_impl.h"
#include "adapters/zmq/proxy_envelope.h"

namespace loom {

namespace zp = zmq_proto;

std::string ZmqEndpoint::Impl::worker_wrap(const std::string& client, const std::string& frame) {
  zp::Envelope e;
  e.type = zp::Envelope::Type::kReply;
  e.client = client;
  e.frame = frame;
  return zp::encode_envelope(e);
}

void ZmqEndpoint::Impl::worker_announce(const char* type) {
  zp::Envelope e;
  e.type = std::string_view(type) == "ready" ? zp::Envelope::Type::kReady : zp::Envelope::Type::kHeartbeat;
  e.worker = options_.worker_name;
  e.capacity = options_.worker_capacity;
  e.load = static_cast<int32_t>(jobs_in_flight_);
  e.draining = draining_;
  const std::string frame = zp::encode_envelope(e);
  // A full pipe to the proxy means the next heartbeat will say the same.
  socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
}

void ZmqEndpoint::Impl::worker_on_frame(std::string_view envelope) {
  zp::Envelope e;
  try {
    e = zp::decode_envelope(envelope);
  } catch (const zp::ProtocolViolation& err) {
    spdlog::warn("zmq worker: dropped a frame from the proxy: {}", err.what());
    return;
  }
  last_proxy_seen_ = Clock::now();
  if (e.type == zp::Envelope::Type::kJob) handle_client_frame(e.client, e.frame);
}

}  // namespace loom
