// Arbitrary bytes as a client frame: decode + validate must answer with a
// Decoded (accepted or a ProtocolError), never crash, hang or read out of
// bounds; an accepted job must re-encode and decode to an accepted job.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/zmq/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::zmq_proto;
  Limits limits;
  limits.max_frame_bytes = 64 << 10;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  Decoded d = parse_client_frame(frame, limits);
  if (d.error) {
    (void)encode_error(d.id, *d.error);  // the reply the endpoint would send
    return 0;
  }
  if (const auto* job = std::get_if<loom::JobRequest>(&d.message)) {
    Decoded again = parse_client_frame(encode_generate(*job), Limits{});
    if (again.error) __builtin_trap();  // encode/decode disagree
  }
  return 0;
}
