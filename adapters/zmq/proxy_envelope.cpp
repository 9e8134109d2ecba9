#include "adapters/zmq/proxy_envelope.h"

#include <limits>

#include <msgpack.hpp>

#include "adapters/zmq/codec.h"
#include "adapters/zmq/msgpack_read.h"

namespace loom::zmq_proto {

using namespace detail;

namespace {

constexpr const char* kTypeNames[] = {"job", "heartbeat", "ready", "reply"};

void pack_str(msgpack::packer<msgpack::sbuffer>& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_bin(msgpack::packer<msgpack::sbuffer>& pk, std::string_view s) {
  pk.pack_bin(static_cast<uint32_t>(s.size()));
  pk.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}

}  // namespace

std::string encode_envelope(const Envelope& e) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  const bool carries_frame = e.type == Envelope::Type::kJob || e.type == Envelope::Type::kReply;
  const bool from_worker = e.type == Envelope::Type::kReady ||
                           (e.type == Envelope::Type::kHeartbeat && !e.worker.empty());
  pk.pack_map(2 + (carries_frame ? 2 : 0) + (from_worker ? 4 : 0));
  pack_str(pk, "v");
  pk.pack_int(kProtocolVersion);
  pack_str(pk, "type");
  pack_str(pk, kTypeNames[static_cast<int>(e.type)]);
  if (carries_frame) {
    pack_str(pk, "client"); pack_bin(pk, e.client);
    pack_str(pk, "frame"); pack_bin(pk, e.frame);
  }
  if (from_worker) {
    pack_str(pk, "worker"); pack_str(pk, e.worker);
    pack_str(pk, "capacity"); pk.pack_int32(e.capacity);
    pack_str(pk, "load"); pk.pack_int32(e.load);
    pack_str(pk, "draining"); pk.pack(e.draining);
  }
  return std::string(buf.data(), buf.size());
}

Envelope decode_envelope(std::string_view frame) {
  try {
    msgpack::object_handle handle = safe_unpack(frame);
    MapView m(handle.get(), "");
    if (read_int(m.require("v"), "v", 1, 1) != kProtocolVersion) fail("v", "expected 1");
    const std::string type = read_string(m.require("type"), "type");
    Envelope e;
    int t = 0;
    while (t < 4 && type != kTypeNames[t]) ++t;
    if (t == 4) fail("type", "unknown envelope type \"" + type + "\"");
    e.type = static_cast<Envelope::Type>(t);
    if (e.type == Envelope::Type::kJob || e.type == Envelope::Type::kReply) {
      e.client = read_binary(m.require("client"), "client");
      e.frame = read_binary(m.require("frame"), "frame");
    }
    if (const auto* w = m.get("worker")) e.worker = read_string(*w, "worker");
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (const auto* c = m.get("capacity")) e.capacity = static_cast<int32_t>(read_int(*c, "capacity", 0, kMax));
    if (const auto* l = m.get("load")) e.load = static_cast<int32_t>(read_int(*l, "load", 0, kMax));
    if (const auto* d = m.get("draining")) e.draining = read_bool(*d, "draining");
    return e;
  } catch (const DecodeFailure& f) {
    throw ProtocolViolation("bad envelope: " + f.error.message);
  }
}

}  // namespace loom::zmq_proto
