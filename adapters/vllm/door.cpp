// VllmDoor: the handshake and the door's lifetime.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>

#include "adapters/vllm/door_impl.h"

namespace loom {

using namespace vllm_door;

DoorMailbox::DoorMailbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw std::runtime_error("eventfd failed");
}
DoorMailbox::~DoorMailbox() { close(fd_); }

void DoorMailbox::push(DoorMail item) {
  {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(item));
  }
  const uint64_t one = 1;
  [[maybe_unused]] auto n = write(fd_, &one, sizeof one);
}

std::deque<DoorMail> DoorMailbox::take() {
  uint64_t v = 0;
  [[maybe_unused]] auto n = read(fd_, &v, sizeof v);
  std::lock_guard lock(mu_);
  return std::exchange(items_, {});
}

namespace {

std::string identity_of(int64_t index) {
  // vllm/v1/engine/core.py: identity = engine_index.to_bytes(2, "little").
  return {static_cast<char>(index & 0xff), static_cast<char>((index >> 8) & 0xff)};
}

}  // namespace

VllmDoor::Impl::Impl(EngineApi& engine, VllmDoorOptions options)
    : engine_(engine),
      options_(std::move(options)),
      model_(engine.model_info()),
      input_(ctx_, zmq::socket_type::dealer),
      output_(ctx_, zmq::socket_type::push),
      mailbox_(std::make_shared<DoorMailbox>()) {
  handshake();
  thread_ = std::thread([this] { run(); });
}

VllmDoor::Impl::~Impl() {
  stop_ = true;
  mailbox_->push({});  // wakes the loop
  if (thread_.joinable()) thread_.join();
  for (const auto& [id, job] : jobs_) engine_.cancel(id);
}

void VllmDoor::Impl::handshake() {
  const std::string identity = identity_of(options_.engine_index);
  zmq::socket_t hs(ctx_, zmq::socket_type::dealer);
  hs.set(zmq::sockopt::routing_id, zmq::buffer(identity));
  hs.set(zmq::sockopt::linger, 0);  // a refused handshake must not wait on close
  hs.connect(options_.handshake_address);
  hs.send(zmq::buffer(encode_status(vllm_wire::kStatusHello)), zmq::send_flags::none);
  zmq::pollitem_t item{hs.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, options_.handshake_timeout) == 0)
    throw VllmDoorError("no answer from a vLLM frontend at " + options_.handshake_address + " within " +
                        std::to_string(options_.handshake_timeout.count() / 1000) +
                        " s (start `vllm serve` with --data-parallel-size-local 0 first)");
  zmq::message_t reply;
  (void)hs.recv(reply);
  HandshakeInit init;
  try {
    init = decode_handshake_init(reply.to_string_view());
  } catch (const WireError& e) {
    throw VllmDoorError(std::string(vllm_wire::kVersionMismatch) + " (handshake: " + e.message + ")");
  }
  input_.set(zmq::sockopt::routing_id, zmq::buffer(identity));
  input_.set(zmq::sockopt::linger, 0);
  input_.connect(init.input_address);
  output_.set(zmq::sockopt::linger, 4000);  // ENGINE_CORE_DEAD must leave before close
  output_.set(zmq::sockopt::sndtimeo, 10000);
  output_.connect(init.output_address);
  ReadyInfo info;
  info.max_model_len = model_.max_context;
  info.num_gpu_blocks = engine_.stats().kv_blocks_total;
  info.block_size = options_.block_size;
  info.max_num_seqs = options_.max_num_seqs;
  info.max_num_batched_tokens = options_.max_num_batched_tokens;
  info.engine_index = options_.engine_index;
  input_.send(zmq::buffer(encode_ready_response(info)), zmq::send_flags::none);
  hs.set(zmq::sockopt::linger, 5000);  // READY must reach the frontend
  hs.send(zmq::buffer(encode_status(vllm_wire::kStatusReady)), zmq::send_flags::none);
  std::fprintf(stderr, "loom vllm door: engine %lld of the vLLM %s frontend at %s (inputs %s, outputs %s)\n",
               static_cast<long long>(options_.engine_index), std::string(vllm_wire::kVllmVersion).c_str(),
               options_.handshake_address.c_str(), init.input_address.c_str(), init.output_address.c_str());
}

void VllmDoor::Impl::drain(std::chrono::milliseconds timeout) {
  DoorMail m;
  m.kind = DoorMail::Kind::kDrain;
  m.timeout = timeout;
  mailbox_->push(std::move(m));
  if (thread_.joinable()) thread_.join();
}

void VllmDoor::Impl::fail(const std::string& why) {
  DoorMail m;
  m.kind = DoorMail::Kind::kFail;
  m.why = why;
  mailbox_->push(std::move(m));
  if (thread_.joinable()) thread_.join();
}

VllmDoorCounters VllmDoor::Impl::counters() const {
  std::lock_guard lock(counters_mu_);
  return counters_;
}

VllmDoor::VllmDoor(EngineApi& engine, VllmDoorOptions options)
    : impl_(std::make_unique<Impl>(engine, std::move(options))) {}
VllmDoor::~VllmDoor() = default;
void VllmDoor::drain(std::chrono::milliseconds timeout) { impl_->drain(timeout); }
void VllmDoor::fail(const std::string& why) { impl_->fail(why); }
bool VllmDoor::dead() const { return impl_->dead(); }
VllmDoorCounters VllmDoor::counters() const { return impl_->counters(); }

}  // namespace loom
