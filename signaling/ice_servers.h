// SPDX-License-Identifier: MIT
// The `iceServers` each peer is handed in `joined`: STUN as configured, TURN with
// short-lived credentials.
#pragma once

#include "server.h"

#include <string>

namespace duet::signaling {

// Builds the `iceServers` JSON for one peer: STUN URIs as given, TURN URIs with TURN REST
// API credentials (username "expiry:peer-id", password base64(HMAC-SHA1(secret, username))).
std::string ice_servers_for(const ServerConfig &config, const std::string &peer_id,
                            gint64 now_unix_seconds);

} // namespace duet::signaling
