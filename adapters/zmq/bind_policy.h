// Which addresses may be served in clear text, and the ipc:// socket mode.
// A tcp:// bind that other machines can reach carries prompts and outputs
// unencrypted and admits any peer unless CURVE is on.
#pragma once
#include <string>

namespace loom {

// True for ipc:// and inproc://, and for tcp:// on a loopback host
// (127.0.0.0/8, ::1, localhost, the `lo` interface). Anything else,
// wildcards and other transports included, counts as reachable.
bool is_local_address(const std::string& address);

// Throws std::invalid_argument naming --insecure when `address` is
// reachable from other machines, `curve` is off and `insecure` is not set.
void check_clear_bind(const std::string& address, bool curve, bool insecure);

// After an ipc:// bind: sets the socket file's mode (ZeroMQ leaves it to
// the umask). No-op for other transports and abstract (`ipc://@name`)
// sockets. Throws std::runtime_error when chmod fails.
void apply_ipc_mode(const std::string& bound_address, unsigned mode);

}  // namespace loom
