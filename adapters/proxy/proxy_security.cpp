// CURVE on the proxy's two sockets: one ZAP handler for the context, a
// domain per side so a client key never admits a worker or the reverse.
#include <spdlog/spdlog.h>

#include "adapters/proxy/proxy_impl.h"

namespace loom {

namespace {

void check_pair(const std::string& secret, const std::string& dir, const char* side) {
  if (secret.empty() != dir.empty()) {
    throw ProxyError(std::string("proxy ") + side + " CURVE needs both a secret certificate and a client key directory");
  }
}

}  // namespace

void Proxy::Impl::secure_sockets() {
  const ProxyOptions& o = options_;
  check_pair(o.frontend_curve_secret, o.frontend_curve_clients, "frontend");
  check_pair(o.backend_curve_secret, o.backend_curve_clients, "backend");
  if (o.frontend_curve_secret.empty() && o.backend_curve_secret.empty()) return;
  try {
    zap_ = std::make_unique<ZapHandler>(context_);  // bound before either socket binds
    if (!o.frontend_curve_secret.empty()) {
      zap_->secure_server(frontend_, kFrontendDomain, read_curve_secret(o.frontend_curve_secret),
                          o.frontend_curve_clients);
      spdlog::info("loom proxy: frontend CURVE on, {} client keys", zap_->admitted_keys(kFrontendDomain));
    }
    if (!o.backend_curve_secret.empty()) {
      zap_->secure_server(backend_, kBackendDomain, read_curve_secret(o.backend_curve_secret),
                          o.backend_curve_clients);
      spdlog::info("loom proxy: backend CURVE on, {} worker keys", zap_->admitted_keys(kBackendDomain));
    }
    zap_->start();
  } catch (const CurveCertError& e) {
    throw ProxyError(e.what());
  } catch (const zmq::error_t& e) {
    throw ProxyError(std::string("cannot start the proxy's ZAP handler: ") + e.what());
  }
}

void Proxy::Impl::reload_keys() {
  if (!zap_) return;
  try {
    zap_->reload();
  } catch (const CurveCertError& e) {
    spdlog::error("loom proxy: key reload failed, keeping the old keys: {}", e.what());
  }
}

}  // namespace loom
