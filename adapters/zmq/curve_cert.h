// ZeroMQ CURVE certificates in the ZPL text format that CZMQ's zcert and
// pyzmq's zmq.auth write: NAME.key holds the public key, NAME.key_secret
// the public and the secret key, each a 40-character Z85 string under a
// `curve` section (`public-key = "..."`, `secret-key = "..."`).
//
//   CurveCert c = generate_curve_cert();
//   write_curve_cert_pair("/etc/loom/server", c);   // server.key, server.key_secret (0600)
//   CurveCert s = read_curve_cert("/etc/loom/server.key_secret");  // s.secret_z85 set
//   std::set<std::string> admitted = read_public_keys_dir("/etc/loom/clients");
//
// Pure file and key handling (libzmq's Z85 and keypair functions, no sockets).
#pragma once
#include <set>
#include <stdexcept>
#include <string>

namespace loom {

// A file that is missing, malformed, or holds a key that is not Z85 of 32 bytes.
class CurveCertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CurveCert {
  std::string public_z85;  // always 40 characters
  std::string secret_z85;  // empty for a public certificate
};

// A fresh keypair (libzmq's zmq_curve_keypair). Throws when libzmq lacks CURVE.
CurveCert generate_curve_cert();

// Reads a certificate file; a secret file without `public-key` gets the
// public key derived from the secret one. Throws CurveCertError.
CurveCert read_curve_cert(const std::string& path);
// read_curve_cert that also requires a secret key (for --curve-secret).
CurveCert read_curve_secret(const std::string& path);

// Writes BASE.key (public, mode 0644) and BASE.key_secret (mode 0600).
// Refuses to overwrite an existing file. Throws CurveCertError.
void write_curve_cert_pair(const std::string& base, const CurveCert& cert);

// The public keys of every `*.key` file in `dir` (CZMQ's and pyzmq's
// convention for a directory of admitted peers), as Z85. Throws on the
// first bad file, naming it, so a typo never silently locks a key out.
std::set<std::string> read_public_keys_dir(const std::string& dir);

// True when `z85` is 40 Z85 characters that decode to a 32-byte key.
bool is_valid_curve_key(const std::string& z85);

}  // namespace loom
