// SPDX-License-Identifier: MIT
// What the session needs to know of an SDP and of ICE candidates, read from the parsed SDP
// (GstSDPMessage), never by scanning lines.
#pragma once

#include "common/result.h"

#include <gst/sdp/sdp.h>

#include <optional>
#include <string>
#include <vector>

namespace duet::pipelines {

// One payload format of an m-line, as its rtpmap, fmtp and rtcp-fb lines describe it.
struct SdpFormat {
    unsigned pt = 0;
    std::string encoding; // as written, e.g. "VP8", "H264", "opus"
    int clock_rate = 0;
    std::string profile_level_id;   // H.264 fmtp; "" if absent
    std::string packetization_mode; // H.264 fmtp; "" if absent (which means 0)
    bool nack = false;              // a=rtcp-fb:PT nack
    bool usedtx = false;            // Opus fmtp usedtx=1: the receiver asks for DTX
};

// The transport-wide congestion control header extension
// (draft-holmer-rmcat-transport-wide-cc-extensions-01).
inline constexpr const char *kTwccUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

struct SdpMedia {
    std::string kind; // m= media: "video", "audio", "application", ...
    std::string mid;  // "" if none
    unsigned port = 0;
    bool bundle_only = false;
    // In the offerer's order of preference. Formats without an rtpmap are left out.
    std::vector<SdpFormat> formats;
    // The id of its transport-wide congestion control header extension (`a=extmap:N` with
    // kTwccUri), 0 if none or one that a one-byte header cannot carry (only 1-14 can).
    unsigned twcc_ext = 0;
    // Encoding names in that order without repeats, e.g. {"VP8","VP9","H264","AV1"}, for
    // messages and events. RTX, RED, ULPFEC and FlexFEC are left out: they carry no picture.
    std::vector<std::string> codec_names() const;
    // The payload type of the first format of this encoding (case-insensitive), if any:
    // e.g. "red", "ulpfec".
    std::optional<unsigned> pt_of(const char *encoding) const;
    // Both RED and ULPFEC are on the m-line: video forward error correction (RFC 5109).
    bool has_red_ulpfec() const { return pt_of("red") && pt_of("ulpfec"); }
};

// Which WebRTC stack wrote a description, from its origin line: the advice for hidden
// (mDNS) host addresses differs between them.
enum class SdpAuthor { Unknown, Firefox, Chromium, GStreamer };

struct SdpSummary {
    std::vector<SdpMedia> media; // in m-line order
    SdpAuthor author = SdpAuthor::Unknown;
    // The first m-line of `kind` that is not rejected (port 0 without bundle-only).
    const SdpMedia *first(const std::string &kind) const;
};

// Fails with a reason on text that is not SDP or has no m-line.
Result<SdpSummary> parse_sdp(const std::string &text);
// The same, of a description already parsed (e.g. the one handed to webrtcbin).
SdpSummary summarize_sdp(const GstSDPMessage *sdp);

// The `a=mid` of each m-line, in m-line order ("" where an m-line has none).
std::vector<std::string> media_mids(const SdpSummary &sdp);

// The connection address of a candidate line, e.g. "192.168.1.4" or "f3c1....local".
std::string candidate_address(const std::string &candidate);
// Browsers hide host addresses behind mDNS names; libnice cannot resolve those.
bool is_mdns_candidate(const std::string &candidate);
// The candidate with its connection address replaced (after resolving an mDNS name).
std::string with_address(const std::string &candidate, const std::string &address);

// What to tell the user when a peer's host candidates are mDNS names, for that peer's
// browser.
std::string mdns_advice(SdpAuthor author);

} // namespace duet::pipelines
