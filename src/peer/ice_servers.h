// SPDX-License-Identifier: MIT
// Turns the server's `iceServers` (RTCIceServer JSON) into webrtcbin's STUN/TURN URIs.
#pragma once

#include <string>
#include <vector>

namespace duet::peer {

struct IceConfig {
    std::string stun;               // stun://host:port (webrtcbin takes one)
    std::vector<std::string> turns; // turn(s)://user:pass@host:port[?transport=...]
};

// Unknown or malformed entries are skipped with a log line, never fatal.
IceConfig parse_ice_servers(const std::string &json);

} // namespace duet::peer
