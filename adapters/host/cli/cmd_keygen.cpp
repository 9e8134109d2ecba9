// loom keygen NAME: a ZeroMQ CURVE certificate pair, NAME.key (public: give
// it to the peers that must admit you) and NAME.key_secret (mode 0600), in
// the format CZMQ's zcert and pyzmq's zmq.auth.create_certificates use.
#include <cstdio>
#include <memory>
#include <string>

#include "adapters/host/cli/commands.h"
#include "adapters/zmq/curve_cert.h"

namespace loom::cli {

void add_keygen_command(CLI::App& app) {
  auto name = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("keygen", "write a CURVE certificate pair NAME.key (public) and NAME.key_secret");
  cmd->add_option("name", *name, "path prefix of the two files, e.g. keys/server")->required();
  cmd->callback([name] {
    write_curve_cert_pair(*name, generate_curve_cert());
    const CurveCert check = read_curve_cert(*name + ".key");
    std::printf("%s.key\n%s.key_secret\npublic key %s\n", name->c_str(), name->c_str(), check.public_z85.c_str());
  });
}

}  // namespace loom::cli
