#include "adapters/zmq/bind_policy.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace loom {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "tcp://HOST:PORT" -> HOST without IPv6 brackets.
std::string tcp_host(const std::string& address) {
  std::string rest = address.substr(6);
  const auto colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "lo") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace

bool is_local_address(const std::string& address) {
  if (starts_with(address, "ipc://") || starts_with(address, "inproc://")) return true;
  if (starts_with(address, "tcp://")) return is_loopback_host(tcp_host(address));
  return false;
}

void check_clear_bind(const std::string& address, bool curve, bool insecure) {
  if (curve || insecure || is_local_address(address)) return;
  throw std::invalid_argument("refusing to serve " + address +
                              " without CURVE: other machines could connect and read prompts and outputs. "
                              "Give --curve-secret SERVER.key_secret and --curve-clients DIR (see loom keygen), "
                              "or pass --insecure to serve in clear text anyway");
}

void apply_ipc_mode(const std::string& bound_address, unsigned mode) {
  if (!starts_with(bound_address, "ipc://")) return;
  const std::string path = bound_address.substr(6);
  if (path.empty() || path[0] == '@') return;
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    throw std::runtime_error("cannot chmod " + path + ": " + std::strerror(errno));
  }
}

}  // namespace loom
