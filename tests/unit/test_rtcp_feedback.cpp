// SPDX-License-Identifier: MIT
// Reading receivers' RTCP: report blocks, the round trip from LSR/DLSR, REMB, and bytes
// that are not RTCP (or lie about their lengths) coming to nothing rather than a crash.
#include "pipelines/rtcp_feedback.h"

#include <gst/gst.h>
#include <gst/rtp/rtp.h>

#include <cstring>
#include <random>

using namespace duet::pipelines;

namespace {

constexpr guint32 kVideoSsrc = 0x11223344;

// An RR from `sender` with one block about kVideoSsrc.
GstBuffer *receiver_report(guint8 fraction, guint32 seq, guint32 lsr, guint32 dlsr) {
    GstBuffer *buf = gst_rtcp_buffer_new(1400);
    GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
    gst_rtcp_buffer_map(buf, GST_MAP_READWRITE, &rtcp);
    GstRTCPPacket pkt;
    g_assert_true(gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_RR, &pkt));
    gst_rtcp_packet_rr_set_ssrc(&pkt, 0xabcdef);
    g_assert_true(gst_rtcp_packet_add_rb(&pkt, kVideoSsrc, fraction, 7, seq, 3, lsr, dlsr));
    gst_rtcp_buffer_unmap(&rtcp);
    return buf;
}

// A REMB of `bps` for `ssrcs`; `claimed` SSRCs in its count (a lie when different).
GstBuffer *remb(guint64 bps, const std::vector<guint32> &ssrcs, guint claimed) {
    GstBuffer *buf = gst_rtcp_buffer_new(1400);
    GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
    gst_rtcp_buffer_map(buf, GST_MAP_READWRITE, &rtcp);
    GstRTCPPacket pkt;
    g_assert_true(gst_rtcp_buffer_add_packet(&rtcp, GST_RTCP_TYPE_PSFB, &pkt));
    gst_rtcp_packet_fb_set_type(&pkt, GST_RTCP_PSFB_TYPE_AFB);
    gst_rtcp_packet_fb_set_sender_ssrc(&pkt, 0xabcdef);
    g_assert_true(gst_rtcp_packet_fb_set_fci_length(&pkt, guint16(2 + ssrcs.size())));
    guint8 *fci = gst_rtcp_packet_fb_get_fci(&pkt);
    guint exp = 0;
    while ((bps >> exp) >= (1u << 18))
        ++exp;
    guint32 mantissa = guint32(bps >> exp);
    std::memcpy(fci, "REMB", 4);
    fci[4] = guint8(claimed);
    fci[5] = guint8(exp << 2 | (mantissa >> 16));
    fci[6] = guint8(mantissa >> 8);
    fci[7] = guint8(mantissa);
    for (std::size_t i = 0; i < ssrcs.size(); ++i)
        GST_WRITE_UINT32_BE(fci + 8 + 4 * i, ssrcs[i]);
    gst_rtcp_buffer_unmap(&rtcp);
    return buf;
}

void test_report_block() {
    // Our SR left at LSR; the receiver held it 0.5 s (DLSR); it is back 0.6 s after it left.
    guint32 lsr = 0x12345678, dlsr = 65536 / 2;
    guint32 now = lsr + dlsr + 65536 / 10;
    GstBuffer *buf = receiver_report(64, 5000, lsr, dlsr);
    RtcpSeen seen = parse_rtcp(buf, now);
    gst_buffer_unref(buf);
    g_assert_cmpuint(seen.blocks.size(), ==, 1);
    g_assert_cmpuint(seen.blocks[0].ssrc, ==, kVideoSsrc);
    g_assert_cmpuint(seen.blocks[0].fraction_lost, ==, 64);
    g_assert_cmpuint(seen.blocks[0].highest_seq, ==, 5000);
    g_assert_cmpfloat(std::abs(seen.blocks[0].rtt_ms - 100), <, 1);
    g_assert_true(seen.rembs.empty());
}

void test_no_sender_report_yet() {
    GstBuffer *buf = receiver_report(0, 10, 0, 0);
    RtcpSeen seen = parse_rtcp(buf, 12345);
    gst_buffer_unref(buf);
    g_assert_cmpuint(seen.blocks.size(), ==, 1);
    g_assert_cmpfloat(seen.blocks[0].rtt_ms, ==, -1);
    // A report from "before" our report left (clock noise) is a round trip of 0, not 18 h.
    buf = receiver_report(0, 10, 1000, 500);
    seen = parse_rtcp(buf, 1200);
    gst_buffer_unref(buf);
    g_assert_cmpfloat(seen.blocks[0].rtt_ms, ==, 0);
}

void test_remb() {
    GstBuffer *buf = remb(1500000, {kVideoSsrc, 42}, 2);
    RtcpSeen seen = parse_rtcp(buf, 0);
    gst_buffer_unref(buf);
    g_assert_cmpuint(seen.rembs.size(), ==, 1);
    g_assert_cmpfloat(std::abs(seen.rembs[0].bps - 1500000), <, 1500000.0 / (1 << 17));
    g_assert_cmpuint(seen.rembs[0].ssrcs.size(), ==, 2);
    g_assert_cmpuint(seen.rembs[0].ssrcs[0], ==, kVideoSsrc);
    // Claiming more SSRCs than it carries: skipped, not read past its end.
    buf = remb(1500000, {kVideoSsrc}, 200);
    seen = parse_rtcp(buf, 0);
    gst_buffer_unref(buf);
    g_assert_true(seen.rembs.empty());
}

void test_garbage() {
    g_assert_true(parse_rtcp(nullptr, 0).blocks.empty());
    std::mt19937 rng(14);
    std::uniform_int_distribution<int> byte(0, 255), len(0, 200);
    for (int i = 0; i < 2000; ++i) {
        int n = len(rng);
        guint8 *data = static_cast<guint8 *>(g_malloc(std::size_t(n) + 1));
        for (int j = 0; j < n; ++j)
            data[j] = guint8(byte(rng));
        // Half of them look like RTCP (version 2) in their first byte.
        if (n > 0 && i % 2)
            data[0] = guint8(0x80 | (data[0] & 0x3f));
        GstBuffer *buf = gst_buffer_new_wrapped(data, gsize(n));
        RtcpSeen seen = parse_rtcp(buf, 0);
        gst_buffer_unref(buf);
        g_assert_cmpuint(seen.blocks.size(), <=, std::size_t(n) / 24);
    }
    // A valid report with its length field cut short is not read past its end.
    GstBuffer *rr = receiver_report(1, 2, 3, 4);
    GstMapInfo map;
    gst_buffer_map(rr, &map, GST_MAP_READ);
    GstBuffer *cut = gst_buffer_new_memdup(map.data, map.size - 8);
    gst_buffer_unmap(rr, &map);
    gst_buffer_unref(rr);
    g_assert_true(parse_rtcp(cut, 0).blocks.empty());
    gst_buffer_unref(cut);
}

} // namespace

int main(int argc, char **argv) {
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/rtcp-feedback/report-block", test_report_block);
    g_test_add_func("/rtcp-feedback/no-sender-report", test_no_sender_report_yet);
    g_test_add_func("/rtcp-feedback/remb", test_remb);
    g_test_add_func("/rtcp-feedback/garbage", test_garbage);
    return g_test_run();
}
