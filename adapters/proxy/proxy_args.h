// Command-line flags of `loom-proxy` (and `loom proxy`): --flag VALUE pairs
// onto ProxyOptions. Throws ProxyError naming the bad flag.
#pragma once
#include <string>
#include <vector>

#include "adapters/proxy/proxy.h"

namespace loom {

// `args` excludes the program (and subcommand) name. Unknown flags, missing
// values and malformed numbers are errors.
ProxyOptions parse_proxy_args(const std::vector<std::string>& args);
// One line per flag, for --help.
const char* proxy_usage();

}  // namespace loom
