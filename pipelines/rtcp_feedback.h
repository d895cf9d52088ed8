// SPDX-License-Identifier: MIT
// What receivers' RTCP says about the streams we send: report blocks (loss, highest
// sequence number, round trip) and REMB. Pure parsing of bytes from the network: anything
// malformed is skipped, never trusted.
#pragma once

#include <gst/gst.h>

#include <vector>

namespace duet::pipelines {

struct RtcpSeen {
    struct Block {
        guint32 ssrc;
        guint8 fraction_lost; // /256
        guint32 highest_seq;
        double rtt_ms; // -1: no sender report of ours answered yet
    };
    std::vector<Block> blocks;
    // draft-alvestrand-rmcat-remb: the receiver's estimate for the streams it lists.
    struct Remb {
        double bps;
        std::vector<guint32> ssrcs;
    };
    std::vector<Remb> rembs;
};

// The middle 32 bits of the NTP time now (RTCP's LSR/DLSR unit: 1/65536 s). rtpbin stamps
// its sender reports from the real-time clock (its default ntp-time-source), so a report
// block's LSR and DLSR give the round trip against this.
guint32 ntp_short_now();

// The report blocks (of SR and RR packets) and REMBs in one RTCP compound packet `buf`,
// which arrived at `now` (ntp_short_now()'s unit). Empty when it is not valid RTCP.
RtcpSeen parse_rtcp(GstBuffer *buf, guint32 now);

} // namespace duet::pipelines
