// SPDX-License-Identifier: MIT
// duet-server's command line and --config key-file, both filling one ServerConfig.
#pragma once

#include "server.h"

#include <string>

namespace duet::signaling {

enum class OptionsResult { Ok, Help, UsageError };

// Parses argv (and the key-file named by --config, whose keys are the long flag names in
// group [server]; flags given on the command line win). On UsageError, *error says why.
OptionsResult parse_server_options(int argc, char **argv, ServerConfig &config, std::string *error);

} // namespace duet::signaling
