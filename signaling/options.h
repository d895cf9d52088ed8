// SPDX-License-Identifier: MIT
// duet-server's options: one table (options.cpp) for the command line and --config.
#pragma once

#include "common/result.h"
#include "server.h"

#include <string>
#include <vector>

namespace duet::signaling {

// Parses args (args[0] is the program name; --config FILE reads group [server], keys as the
// long flag names; flags given on the command line win) into a ServerConfig. `--help`
// prints and exits 0 (GLib's way). A failure is a usage error, for stderr and exit 2.
Result<ServerConfig> parse_server_options(const std::vector<std::string> &args);

} // namespace duet::signaling
