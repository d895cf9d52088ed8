// SPDX-License-Identifier: MIT
// Reading the RTCP that receivers send about our streams (see rtcp_feedback.h).
#include "pipelines/rtcp_feedback.h"

#include <gst/rtp/rtp.h>

#include <cmath>
#include <cstring>

namespace duet::pipelines {

guint32 ntp_short_now() {
    constexpr guint64 kNtpEpochOffsetS = 2208988800ULL; // 1900 to 1970
    guint64 us = guint64(g_get_real_time()) + kNtpEpochOffsetS * G_USEC_PER_SEC;
    guint64 ntp = (us / G_USEC_PER_SEC) << 32 | ((us % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC;
    return guint32(ntp >> 16);
}

RtcpSeen parse_rtcp(GstBuffer *buf, guint32 now) {
    RtcpSeen out;
    GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
    if (!buf || !gst_rtcp_buffer_map(buf, GST_MAP_READ, &rtcp))
        return out;
    GstRTCPPacket pkt;
    for (gboolean more = gst_rtcp_buffer_get_first_packet(&rtcp, &pkt); more;
         more = gst_rtcp_packet_move_to_next(&pkt)) {
        GstRTCPType type = gst_rtcp_packet_get_type(&pkt);
        if (type == GST_RTCP_TYPE_SR || type == GST_RTCP_TYPE_RR) {
            guint n = gst_rtcp_packet_get_rb_count(&pkt);
            for (guint i = 0; i < n; ++i) {
                guint32 ssrc = 0, seq = 0, jitter = 0, lsr = 0, dlsr = 0;
                guint8 fraction = 0;
                gint32 lost = 0;
                gst_rtcp_packet_get_rb(&pkt, i, &ssrc, &fraction, &lost, &seq, &jitter, &lsr,
                                       &dlsr);
                double rtt = -1;
                if (lsr != 0) {
                    // Wraps like the NTP field itself; a negative result is clock noise.
                    gint32 d = gint32(now - lsr - dlsr);
                    rtt = d < 0 ? 0 : double(d) * 1000 / 65536;
                }
                out.blocks.push_back({ssrc, fraction, seq, rtt});
            }
        } else if (type == GST_RTCP_TYPE_PSFB &&
                   gst_rtcp_packet_fb_get_type(&pkt) == GST_RTCP_PSFB_TYPE_AFB) {
            guint8 *fci = gst_rtcp_packet_fb_get_fci(&pkt);
            guint words = gst_rtcp_packet_fb_get_fci_length(&pkt);
            if (!fci || words < 2 || memcmp(fci, "REMB", 4) != 0)
                continue;
            guint n_ssrc = fci[4];
            guint exp = fci[5] >> 2;
            guint32 mantissa = (guint32(fci[5] & 0x3) << 16) | (guint32(fci[6]) << 8) | fci[7];
            if (words < 2 + n_ssrc)
                continue;
            RtcpSeen::Remb r{std::ldexp(double(mantissa), int(exp)), {}};
            for (guint i = 0; i < n_ssrc; ++i)
                r.ssrcs.push_back(GST_READ_UINT32_BE(fci + 8 + 4 * i));
            out.rembs.push_back(std::move(r));
        }
    }
    gst_rtcp_buffer_unmap(&rtcp);
    return out;
}

} // namespace duet::pipelines
