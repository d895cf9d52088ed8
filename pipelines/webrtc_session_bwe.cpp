// SPDX-License-Identifier: MIT
// A call leg's bandwidth adaptation: every kBwePollMs the leg reads webrtcbin's figures for
// its video (the receiver's RTCP reports: loss and round trip; bytes sent), feeds them to
// its BandwidthController (congestion.h) and sets the encoder's bitrate and the picture
// size and rate the controller's target can carry.
#include "common/gst_ref.h"
#include "pipelines/bin_walk.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"
#include "pipelines/rtcp_feedback.h"
#include "pipelines/session_hop.h"
#include "pipelines/webrtc_session.h"

#define GST_USE_UNSTABLE_API
#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

// How often the leg reads its figures. Receivers report about once a second (browsers) or
// more often (duet-peer: RTCP every 100 ms at least); twice a second sees each browser
// report within half a second and costs one stats walk.
constexpr guint kBwePollMs = 500;
// A get-stats request not answered within this is given up (see poll_bwe).
constexpr gint64 kStatsGiveUpUs = 5 * G_USEC_PER_SEC;
// The sent rate is measured over at least this long, so one keyframe does not count as a
// bitrate.
constexpr gint64 kSentWindowUs = 900 * 1000;

// A figure of a stats structure as a double, whatever number type webrtcbin used.
bool number(const GstStructure *s, const char *field, double *out) {
    const GValue *v = gst_structure_get_value(s, field);
    if (!v)
        return false;
    GValue d = G_VALUE_INIT;
    g_value_init(&d, G_TYPE_DOUBLE);
    bool ok =
        g_value_type_transformable(G_VALUE_TYPE(v), G_TYPE_DOUBLE) && g_value_transform(v, &d);
    if (ok)
        *out = g_value_get_double(&d);
    g_value_unset(&d);
    return ok && std::isfinite(*out);
}

struct VideoStats {
    guint ssrc = 0; // 0: not known yet
    bool have_sent = false;
    double bytes_sent = 0;
};

GstWebRTCStatsType stats_type(const GstStructure *s) {
    GstWebRTCStatsType type = GstWebRTCStatsType(0);
    if (s)
        gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr);
    return type;
}

// Calls `fn` with each stats structure of a get-stats reply.
template <typename Fn> void each_stats(const GstStructure *reply, Fn fn) {
    int n = reply ? gst_structure_n_fields(reply) : 0;
    for (int i = 0; i < n; ++i) {
        const GValue *v = gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
        if (v && GST_VALUE_HOLDS_STRUCTURE(v))
            if (const GstStructure *s = gst_value_get_structure(v))
                fn(s, stats_type(s));
    }
}

// Our video's bytes sent in a get-stats reply: the outbound-rtp entry of its SSRC.
// (webrtcbin 1.22 labels every stream of a bundle "video", and its remote-inbound-rtp
// entries show only the last report block of each remote source, which is often the one
// about our audio; hence the RTCP is read directly, in watch_rtcp.)
VideoStats read_video_stats(const GstStructure *reply, guint ssrc) {
    VideoStats out;
    out.ssrc = ssrc;
    if (!ssrc)
        return out;
    each_stats(reply, [&](const GstStructure *s, GstWebRTCStatsType type) {
        guint this_ssrc = 0;
        if (type == GST_WEBRTC_STATS_OUTBOUND_RTP && !out.have_sent &&
            gst_structure_get_uint(s, "ssrc", &this_ssrc) && this_ssrc == ssrc)
            out.have_sent = number(s, "bytes-sent", &out.bytes_sent);
    });
    return out;
}

// The packets of an "RTPTWCCPackets" event: rtpsession's reading of one transport-wide
// feedback packet (each of our packets it names, with its send time, arrival time and
// size). Anything malformed is left out; `audio_pt` marks what is not video. (rtpsession
// hands them over as a GValueArray, deprecated but what it uses.)
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
std::vector<TwccPacket> read_twcc_packets(const GstStructure *s, unsigned audio_pt) {
    std::vector<TwccPacket> out;
    const GValue *list = s ? gst_structure_get_value(s, "packets") : nullptr;
    if (!list || !G_VALUE_HOLDS(list, g_value_array_get_type()))
        return out;
    auto *array = static_cast<GValueArray *>(g_value_get_boxed(list));
    for (guint i = 0; array && i < array->n_values; ++i) {
        const GValue *v = g_value_array_get_nth(array, i);
        const GstStructure *p =
            v && GST_VALUE_HOLDS_STRUCTURE(v) ? gst_value_get_structure(v) : nullptr;
        guint64 local = 0, remote = GST_CLOCK_TIME_NONE;
        guint size = 0;
        gboolean lost = TRUE;
        if (!p || !gst_structure_get_uint64(p, "local-ts", &local) ||
            !GST_CLOCK_TIME_IS_VALID(local) || !gst_structure_get_uint(p, "size", &size))
            continue;
        gst_structure_get_uint64(p, "remote-ts", &remote);
        gst_structure_get_boolean(p, "lost", &lost);
        const GValue *pt = gst_structure_get_value(p, "payload-type");
        TwccPacket pkt;
        pkt.sent_us = gint64(local / 1000);
        pkt.arrived_us = !lost && GST_CLOCK_TIME_IS_VALID(remote) ? gint64(remote / 1000) : -1;
        pkt.bytes = int(std::min<guint>(size, G_MAXINT));
        pkt.video = !(pt && G_VALUE_HOLDS_UCHAR(pt) && g_value_get_uchar(pt) == audio_pt);
        out.push_back(pkt);
    }
    return out;
}
G_GNUC_END_IGNORE_DEPRECATIONS

} // namespace

void WebrtcSession::start_bwe() {
    const auto &video = config_.plan.video;
    if (!video)
        return;
    BweLimits limits;
    limits.max_kbps = config_.send.video_kbps;
    limits.start_kbps = config_.send.video_kbps;
    limits.min_kbps = std::min(limits.min_kbps, limits.max_kbps);
    bwe_.emplace(limits);
    ladder_.emplace(Picture{config_.send.width, config_.send.height, config_.send.fps});
    figures_.target_kbps = bwe_->target_kbps();
    figures_.width = config_.send.width;
    figures_.height = config_.send.height;
    figures_.fps = config_.send.fps;
    if (!video->encoder->bitrate_property)
        g_message("peer %s: %s cannot change its bitrate while it runs; the video stays at "
                  "%d kbit/s whatever the path carries",
                  config_.peer_id.c_str(), video->encoder->element.element,
                  config_.send.video_kbps);
    bwe_timer_ = lifeline_.add_timeout(
        kBwePollMs,
        [](gpointer self) -> gboolean {
            static_cast<WebrtcSession *>(self)->poll_bwe();
            return G_SOURCE_CONTINUE;
        },
        this);
}

void WebrtcSession::poll_bwe() {
    if (state_ != PeerState::Connected || !video_webrtc_sink_ || video_rejected_)
        return;
    if (rtcp_watches_.empty())
        watch_rtcp();
    // Our video's SSRC is the one on the packets leaving its payloader (watched in
    // find_video_controls). Not its caps: a change of picture size renegotiates them, and
    // reports then came about an SSRC the caps no longer named.
    guint32 ssrc = wire_ssrc_->load(std::memory_order_relaxed);
    if (ssrc && ssrc != video_ssrc_) {
        GST_DEBUG("peer %s: our video is SSRC %u", config_.peer_id.c_str(), ssrc);
        video_ssrc_ = ssrc;
    }
    gint64 now = g_get_monotonic_time();
    if (BweAction a = bwe_->on_tick(now); a == BweAction::Decrease) {
        GST_INFO("peer %s: no new report about our video in 3 s", config_.peer_id.c_str());
        apply_bwe(now, a);
        listener_->on_send_report(*this);
    }
    // The RTCP path above needs nothing from get-stats, which only gives the bytes sent; a
    // request webrtcbin has not answered in a while is given up rather than waited on.
    if (bwe_polling_ && now - bwe_poll_us_ < kStatsGiveUpUs)
        return;
    bwe_polling_ = true;
    bwe_poll_us_ = now;
    emit_with_promise("get-stats", video_webrtc_sink_.get(), &WebrtcSession::on_bwe_stats);
}

void WebrtcSession::on_bwe_stats(GstPromise *p) {
    bwe_polling_ = false;
    if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED)
        return;
    const GstStructure *reply = gst_promise_get_reply(p);
    if (reply && gst_debug_category_get_threshold(GST_CAT_DEFAULT) >= GST_LEVEL_LOG) {
        Owned<gchar> text(gst_structure_to_string(reply));
        GST_LOG("peer %s: video stats %s", config_.peer_id.c_str(), text.get());
    }
    VideoStats st = read_video_stats(reply, video_ssrc_);
    gint64 now = g_get_monotonic_time();
    if (st.have_sent) {
        if (sent_at_us_ == 0 || st.bytes_sent < sent_bytes_) {
            sent_at_us_ = now;
            sent_bytes_ = st.bytes_sent;
        } else if (now - sent_at_us_ >= kSentWindowUs) {
            figures_.sent_kbps = int(std::lround((st.bytes_sent - sent_bytes_) * 8 / 1000 /
                                                 (double(now - sent_at_us_) / G_USEC_PER_SEC)));
            sent_at_us_ = now;
            sent_bytes_ = st.bytes_sent;
            bwe_->on_sent_rate(figures_.sent_kbps);
        }
    }
}

// Listens to the RTCP that arrives for this leg: receiver reports about our video, and REMB.
void WebrtcSession::watch_rtcp() {
    auto rtpbin = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin"));
    if (!rtpbin)
        return;
    // With max-bundle everything is in session 0; a peer that did not bundle puts the
    // video in its m-line's session.
    for (guint id = 0; id < 2; ++id) {
        GObject *raw = nullptr;
        g_signal_emit_by_name(rtpbin.get(), "get-internal-session", id, &raw);
        if (!raw)
            continue;
        auto session = Ref<GObject>::adopt(raw);
        gulong h = g_signal_connect_data(
            session.get(), "on-receiving-rtcp",
            G_CALLBACK(+[](GObject *, GstBuffer *buf, Hop *hop) {
                RtcpSeen seen = parse_rtcp(buf, ntp_short_now());
                if (seen.blocks.empty() && seen.rembs.empty())
                    return;
                gint64 at = g_get_monotonic_time();
                run_on_main(*hop, [seen = std::move(seen), at](WebrtcSession &s) {
                    s.on_rtcp(seen.blocks.size(), at, [&](std::size_t i) {
                        const auto &b = seen.blocks[i];
                        return RtcpBlock{b.ssrc, b.fraction_lost / 256.0, b.highest_seq, b.rtt_ms};
                    });
                    for (const auto &r : seen.rembs)
                        for (guint32 ssrc : r.ssrcs)
                            if (ssrc == s.video_ssrc_) {
                                GST_DEBUG("peer %s: REMB %.0f kbit/s", s.config_.peer_id.c_str(),
                                          r.bps / 1000);
                                s.bwe_->on_remb(int(r.bps / 1000));
                                break;
                            }
                });
            }),
            new Hop{lifeline_.handle(), this},
            [](gpointer data, GClosure *) { delete static_cast<Hop *>(data); }, GConnectFlags(0));
        rtcp_watches_.push_back({std::move(session), h});
    }
    GST_INFO("peer %s: reading the RTCP of %zu RTP sessions", config_.peer_id.c_str(),
             rtcp_watches_.size());
}

void WebrtcSession::on_rtcp(std::size_t n, gint64 at_us,
                            const std::function<RtcpBlock(std::size_t)> &block) {
    if (!bwe_ || !video_ssrc_)
        return;
    for (std::size_t i = 0; i < n; ++i) {
        RtcpBlock b = block(i);
        // Only news about our video counts; the same report twice (an early feedback
        // packet repeating it) is not new evidence.
        GST_LOG("peer %s: report block about SSRC %u (ours %u): seq %u, lost %.3f, rtt %.0f ms",
                config_.peer_id.c_str(), b.ssrc, video_ssrc_, b.highest_seq, b.fraction_lost,
                b.rtt_ms);
        if (b.ssrc != video_ssrc_ || b.highest_seq == last_report_seq_)
            continue;
        last_report_seq_ = b.highest_seq;
        BweAction action = bwe_->on_report(at_us, ReceiverReport{b.fraction_lost, b.rtt_ms});
        figures_.loss = bwe_->smoothed_loss();
        if (b.rtt_ms >= 0)
            figures_.rtt_ms = b.rtt_ms;
        apply_bwe(at_us, action);
        listener_->on_send_report(*this);
    }
}

void WebrtcSession::on_twcc(gint64 at_us, const std::vector<TwccPacket> &packets) {
    if (!bwe_ || state_ != PeerState::Connected)
        return;
    BweAction action = bwe_->on_twcc(at_us, packets);
    figures_.twcc = bwe_->twcc_feedbacks();
    figures_.acked_kbps = bwe_->acked_kbps();
    figures_.queue_ms = bwe_->queue_delay_ms();
    figures_.delay_trend = delay_trend_name(bwe_->delay_trend());
    if (figures_.twcc == 1)
        GST_INFO("peer %s: transport-wide feedback arrives; one-way delays lead the video's "
                 "bitrate",
                 config_.peer_id.c_str());
    if (action != BweAction::Hold)
        GST_DEBUG("peer %s: one-way delay %s, queue %.0f ms, acked %d kbit/s",
                  config_.peer_id.c_str(), figures_.delay_trend, figures_.queue_ms,
                  figures_.acked_kbps);
    apply_bwe(at_us, action);
}

void WebrtcSession::apply_bwe(gint64 now, BweAction action) {
    int kbps = bwe_->target_kbps();
    // The target is what the path carries, FEC included: with FEC on, the encoder gets the
    // share that leaves room for it, and the picture is chosen for that share.
    int fec = video_fec_ ? video_fec_percent(bwe_->smoothed_loss()) : 0;
    int media_kbps = media_kbps_with_fec(kbps, fec);
    int estimate = media_kbps_with_fec(bwe_->estimate_kbps(), fec);
    Picture pic = ladder_->update(now, estimate);
    if (kbps != figures_.target_kbps || fec != figures_.fec_percent)
        GST_INFO("peer %s: video %s to %d kbit/s, FEC %d%% (loss %.1f%%, rtt %.0f ms, sent %d "
                 "kbit/s)",
                 config_.peer_id.c_str(), bwe_action_name(action), kbps, fec, figures_.loss * 100,
                 figures_.rtt_ms, figures_.sent_kbps);
    if (fec != figures_.fec_percent)
        set_video_fec_percent(video_webrtc_sink_.get(), fec);
    if ((kbps != figures_.target_kbps || fec != figures_.fec_percent) && video_encoder_)
        set_encoder_bitrate(video_encoder_, *config_.plan.video->encoder, media_kbps);
    figures_.target_kbps = kbps;
    figures_.fec_percent = fec;
    if (!(pic == Picture{figures_.width, figures_.height, figures_.fps})) {
        g_info("peer %s: sending %dx%d@%d for %d kbit/s", config_.peer_id.c_str(), pic.width,
               pic.height, pic.fps, kbps);
        if (video_size_) {
            auto caps = Ref<GstCaps>::adopt(gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT,
                                                                pic.width, "height", G_TYPE_INT,
                                                                pic.height, nullptr));
            g_object_set(video_size_, "caps", caps.get(), nullptr);
        }
        frame_divisor_->store(pic.fps > 0 && pic.fps < config_.send.fps
                                  ? std::max(1, config_.send.fps / pic.fps)
                                  : 1);
        figures_.width = pic.width;
        figures_.height = pic.height;
        figures_.fps = pic.fps;
    }
}

unsigned WebrtcSession::fec_recovered() const {
    if (!webrtc_ || !video_fec_)
        return 0;
    unsigned total = 0;
    for_each_element(GST_BIN(webrtc_), [&](GstElement *e) {
        if (made_by(e, "rtpulpfecdec")) {
            guint n = 0;
            g_object_get(e, "recovered", &n, nullptr);
            total += n;
        }
        return true;
    });
    return total;
}

// The encoder and the size filter of this leg's video branch, found by what they are, and
// a probe before the encoder that passes one frame in `frame_divisor_` (the ladder's lower
// frame rate: dropping there costs no latency, unlike a videorate).
void WebrtcSession::find_video_controls(GstElement *branch) {
    const auto &video = config_.plan.video;
    for_each_element(GST_BIN(branch), [&](GstElement *e) {
        if (made_by(e, video->encoder->element.element))
            video_encoder_ = e; // the bin holds it
        else if (g_str_equal(GST_OBJECT_NAME(e), kVideoSizeName))
            video_size_ = e;
        return true;
    });
    if (!video_encoder_)
        return;
    if (video_send_src_)
        gst_pad_add_probe(
            video_send_src_, GST_PAD_PROBE_TYPE_BUFFER,
            [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
                GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
                guint8 header[12];
                // RTP version 2, then the SSRC at bytes 8-11.
                if (buf && gst_buffer_extract(buf, 0, header, sizeof header) == sizeof header &&
                    (header[0] >> 6) == 2)
                    (*static_cast<std::shared_ptr<std::atomic<guint32>> *>(data))
                        ->store(GST_READ_UINT32_BE(header + 8), std::memory_order_relaxed);
                return GST_PAD_PROBE_OK;
            },
            new std::shared_ptr<std::atomic<guint32>>(wire_ssrc_),
            [](gpointer d) { delete static_cast<std::shared_ptr<std::atomic<guint32>> *>(d); });
    // Transport-wide feedback, as rtpsession sends it up towards the payloaders: read here
    // and kept from going further up (the encoder and the shared capture have no use for it).
    if (video_send_src_) {
        struct TwccHop {
            Hop hop;
            unsigned audio_pt;
        };
        gst_pad_add_probe(
            video_send_src_, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
            [](GstPad *, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
                GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
                const GstStructure *s = ev ? gst_event_get_structure(ev) : nullptr;
                if (!s || !gst_structure_has_name(s, "RTPTWCCPackets"))
                    return GST_PAD_PROBE_OK;
                auto *d = static_cast<TwccHop *>(data);
                auto packets = read_twcc_packets(s, d->audio_pt);
                gint64 at = g_get_monotonic_time();
                run_on_main(d->hop, [packets = std::move(packets), at](WebrtcSession &self) {
                    self.on_twcc(at, packets);
                });
                return GST_PAD_PROBE_DROP;
            },
            new TwccHop{{lifeline_.handle(), this},
                        config_.plan.audio ? config_.plan.audio->pt : 256u},
            [](gpointer d) { delete static_cast<TwccHop *>(d); });
    }
    auto sink = Ref<GstPad>::adopt(gst_element_get_static_pad(video_encoder_, "sink"));
    if (!sink)
        return;
    struct Drop {
        std::shared_ptr<std::atomic<int>> divisor;
        unsigned n = 0;
    };
    gst_pad_add_probe(
        sink.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) -> GstPadProbeReturn {
            auto *d = static_cast<Drop *>(data);
            int k = d->divisor->load(std::memory_order_relaxed);
            return k > 1 && d->n++ % unsigned(k) != 0 ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
        },
        new Drop{frame_divisor_}, [](gpointer d) { delete static_cast<Drop *>(d); });
}

} // namespace duet::pipelines
