// ZmqEndpoint's socket security: CURVE (server in bind mode, client in
// worker mode), the clear-text bind policy and the ipc:// file mode.
#include <spdlog/spdlog.h>

#include "adapters/zmq/bind_policy.h"
#include "adapters/zmq/endpoint_impl.h"

namespace loom {

namespace {

[[noreturn]] void fail(const std::string& why) { throw ZmqEndpointError(why); }

}  // namespace

void ZmqEndpoint::Impl::secure_socket() {
  const EndpointOptions& o = options_;
  try {
    if (worker_mode_) {
      if (o.curve_secret.empty() != o.curve_server_public.empty()) {
        fail("worker mode CURVE needs both curve_secret (this worker's NAME.key_secret) and curve_server_public "
             "(the proxy backend's NAME.key)");
      }
      if (!o.curve_clients_dir.empty()) fail("curve_clients_dir is for bind mode; a worker admits no clients");
      if (o.curve_secret.empty()) return check_clear_bind(o.proxy_address, false, o.insecure);
      const CurveCert mine = read_curve_secret(o.curve_secret);
      const CurveCert server = read_curve_cert(o.curve_server_public);
      socket_.set(zmq::sockopt::curve_serverkey, server.public_z85);
      socket_.set(zmq::sockopt::curve_publickey, mine.public_z85);
      socket_.set(zmq::sockopt::curve_secretkey, mine.secret_z85);
      return;
    }
    if (o.curve_secret.empty() != o.curve_clients_dir.empty()) {
      fail("CURVE needs both curve_secret (the server's NAME.key_secret) and curve_clients_dir (the admitted "
           "clients' public certificates)");
    }
    if (!o.curve_server_public.empty()) fail("curve_server_public is for worker mode (--proxy)");
    check_clear_bind(o.address, !o.curve_secret.empty(), o.insecure);
    if (o.curve_secret.empty()) return;
    const CurveCert server = read_curve_secret(o.curve_secret);
    // The handler binds the context's ZAP endpoint before the socket binds:
    // a CURVE socket without one would admit every key.
    zap_ = std::make_unique<ZapHandler>(context_);
    zap_->secure_server(socket_, kZapDomain, server, o.curve_clients_dir);
    zap_->start();
    spdlog::info("zmq endpoint: CURVE on, {} admitted client keys from {}", zap_->admitted_keys(kZapDomain),
                 o.curve_clients_dir);
  } catch (const CurveCertError& e) {
    fail(e.what());
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
}

void ZmqEndpoint::Impl::after_bind() {
  try {
    apply_ipc_mode(address_, options_.ipc_mode);
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}

}  // namespace loom
