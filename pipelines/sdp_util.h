// SPDX-License-Identifier: MIT
// Small, pure readers of SDP and ICE candidate text that the session needs.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace duet::pipelines {

// The payload types the remote side chose for VP8 and Opus, from `a=rtpmap` lines.
struct PayloadTypes {
    std::optional<unsigned> vp8;
    std::optional<unsigned> opus;
};
PayloadTypes find_payload_types(const std::string &sdp);

// The `a=mid` of each m-line, in m-line order ("" where an m-line has none).
std::vector<std::string> media_mids(const std::string &sdp);

// The connection address of a candidate line, e.g. "192.168.1.4" or "f3c1....local".
std::string candidate_address(const std::string &candidate);
// Browsers hide host addresses behind mDNS names; libnice cannot resolve those.
bool is_mdns_candidate(const std::string &candidate);

} // namespace duet::pipelines
