// What a v1 client is answered for one frame, end to end without sockets:
// the transport's decode, then the contract's one check (validate_job, which
// the backend runs at submit), its refusal mapped onto v1 names
// (wire_error). Tests and the fuzzer use this to hold the whole chain to
// PROTOCOL.md.
#pragma once
#include "adapters/zmq/codec.h"
#include "contract/validate.h"

namespace loom::test {

inline zmq_proto::Decoded checked_decode(std::string_view frame, const zmq_proto::Limits& limits = {}) {
  zmq_proto::Decoded d = zmq_proto::decode_client_frame(frame, limits);
  if (d.error) return d;
  if (const auto* job = std::get_if<JobRequest>(&d.message)) {
    if (auto e = validate_job(*job)) d.error = zmq_proto::wire_error(e->code, e->field, e->message);
  }
  return d;
}

}  // namespace loom::test
