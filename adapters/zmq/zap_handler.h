// ZapHandler: ZeroMQ's authentication hook (ZAP, RFC 27) for the CURVE
// servers of one context. libzmq asks inproc://zeromq.zap.01 about every
// CURVE handshake; this answers 200 only for a client public key found in
// the directory registered for the socket's ZAP domain, 400 otherwise
// (unknown domain included: fail closed). Failed handshakes of any kind
// (denied key, wrong server key, no CURVE at all) are counted per domain
// from the sockets' monitors.
//
//   ZapHandler zap(context);                          // binds the ZAP endpoint
//   zap.secure_server(socket, "clients", server_cert, "/etc/loom/clients");  // before bind
//   zap.start();                                      // then bind the socket
//   zap.reload();                                     // SIGHUP: re-read the directories
//
// Threading: construct, secure_server() and start() on the thread that owns
// the sockets, before they are used; afterwards the handler's own thread owns
// its sockets. reload() and denied() may be called from any thread. Destroy
// it before the context.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "adapters/zmq/curve_cert.h"

namespace loom {

class ZapHandler {
 public:
  explicit ZapHandler(zmq::context_t& context);  // throws zmq::error_t when another handler is bound
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Makes `socket` a CURVE server with `server`'s keys in ZAP `domain`,
  // admitting the keys of `clients_dir` (read now: throws CurveCertError).
  void secure_server(zmq::socket_t& socket, const std::string& domain, const CurveCert& server,
                     const std::string& clients_dir);
  void start();
  // Re-reads every domain's directory. All or nothing: on a bad file the
  // old keys stay and CurveCertError says which file.
  void reload();
  int64_t denied(const std::string& domain) const;
  size_t admitted_keys(const std::string& domain) const;

 private:
  struct Watch {
    std::string domain;
    zmq::socket_t monitor;  // PAIR connected to the socket's monitor
  };
  void run();
  void answer(std::vector<zmq::message_t>& request);
  void on_monitor_event(Watch& watch);

  zmq::context_t& context_;
  zmq::socket_t zap_;  // REP on inproc://zeromq.zap.01
  std::vector<Watch> watches_;
  std::map<std::string, std::string> dirs_;  // domain -> directory (fixed after start)
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::string>> keys_;  // domain -> admitted Z85 keys
  std::map<std::string, int64_t> denied_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace loom
