// Arbitrary bytes as a client frame: decode + the contract's check must answer with a
// Decoded (accepted or a ProtocolError), never crash, hang or read out of
// bounds; an accepted job must re-encode and decode to an accepted job.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/zmq/codec.h"
#include "tests/zmq/checked_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::zmq_proto;
  Limits limits;
  limits.max_frame_bytes = 64 << 10;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  Decoded d = loom::test::checked_decode(frame, limits);
  if (d.error) {
    (void)encode_error(d.id, *d.error);  // the reply the endpoint would send
    return 0;
  }
  if (const auto* job = std::get_if<loom::JobRequest>(&d.message)) {
    Decoded again = loom::test::checked_decode(encode_generate(*job), Limits{});
    if (again.error) __builtin_trap();  // encode/decode disagree
  }
  return 0;
}
