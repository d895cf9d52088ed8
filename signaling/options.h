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

// Builds the `iceServers` JSON for one peer: STUN URIs as given, TURN URIs with TURN REST
// API credentials (username "expiry:peer-id", password base64(HMAC-SHA1(secret, username))).
std::string ice_servers_for(const ServerConfig &config, const std::string &peer_id,
                            gint64 now_unix_seconds);

} // namespace duet::signaling
