// SPDX-License-Identifier: MIT
// webrtcbin knobs: UPnP, NACK per stream, jitter buffers, RTCP timing, codec preferences
// for unplanned m-lines, and the SDP we put on the wire.
#include "pipelines/webrtcbin_setup.h"

#include "common/gst_ref.h"
#include "common/ref.h"
#include "pipelines/bin_walk.h"
#include "pipelines/debug.h"

#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cstring>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

// Consecutive packets after which a new jitter buffer starts pushing. Without this it holds
// the first packet of every stream for the whole `latency` (50 ms by default, more on the
// Internet), which adds straight to the time to first frame; reordering at the very start
// of a stream is what the wait protects against, and two in-order packets rule it out.
constexpr guint kFaststartPackets = 2;

// The shortest gap between regular RTCP packets. rtpsession's default of 5 s (RTP's
// classic minimum) also serves as AVPF's T_rr_interval: after one early feedback packet
// the next may only go ~5 s later, so most NACKs and keyframe requests waited for a
// regular packet seconds away and expired ("Removing N expired NACKS"), and each lost
// packet froze the picture until a keyframe. At 5% loss that cost up to half the frames.
// 100 ms lets feedback out within a fraction of any jitter-buffer latency worth having;
// the regular reports it allows are ~100 bytes each, under 10 kbit/s.
constexpr guint64 kRtcpMinIntervalNs = 100 * GST_MSECOND;

// How often we send transport-wide feedback about what we receive. rtpsession 1.22's
// default sends it at the end of every frame (the marker bit), each time as its own early
// RTCP packet, and its receiver reports then never carried a report block: a duet-peer
// sending to another had no loss or round-trip figure at all. On a timer, as browsers do,
// some reports carry their blocks again (in /faults/rate-cap a few in the first seconds,
// then few), so the sender's controller takes loss and growth from the feedback itself
// while it comes (congestion.h, on_twcc).
constexpr guint64 kTwccFeedbackIntervalNs = 100 * GST_MSECOND;

// The port browsers write on m-lines whose transport is negotiated by ICE (RFC 8839).
constexpr guint kDiscardPort = 9;

// Sets a new jitter buffer's retransmission requests from its stream's payload type, read
// from the first packet. webrtcbin 1.22 turns them on only for streams whose SSRC the
// remote SDP names, and an offer made before the first frame names none for video, so the
// answerer would never ask; and asking for audio, which nobody offered to resend, only
// made browsers resend 4-12% of it (Firefox) or answer NACKs they cannot serve. With
// RED/ULPFEC negotiated the video arrives in RED (the FEC decoder sits after the jitter
// buffer), so RED's payload type counts as the video's.
struct NackByPt {
    std::shared_ptr<const VideoPayloadTypes> pts;
    GstElement *jitterbuffer; // borrowed: the probe lives on its pad
};

GstPadProbeReturn on_first_packet(GstPad *, GstPadProbeInfo *info, gpointer data) {
    auto *d = static_cast<NackByPt *>(data);
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!buf || !gst_rtp_buffer_map(buf, GST_MAP_READ, &rtp))
        return GST_PAD_PROBE_OK; // not RTP: wait for the next packet
    int pt = gst_rtp_buffer_get_payload_type(&rtp);
    gst_rtp_buffer_unmap(&rtp);
    bool nack = pt == d->pts->media.load() || pt == d->pts->red.load();
    g_object_set(d->jitterbuffer, "do-retransmission", gboolean(nack), nullptr);
    GST_DEBUG_OBJECT(d->jitterbuffer, "retransmission requests %s (pt %d)", nack ? "on" : "off",
                     pt);
    return GST_PAD_PROBE_REMOVE;
}

void on_new_jitterbuffer(GstElement *, GstElement *jb, guint, guint, gpointer data) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(jb), "faststart-min-packets"))
        g_object_set(jb, "faststart-min-packets", kFaststartPackets, nullptr);
    g_object_set(jb, "do-retransmission", FALSE, nullptr);
    // Only a gap (a later packet seen first) makes a packet missing, as in browsers. With
    // rtpjitterbuffer's default, a timer expects the next packet one packet-spacing after
    // the last and declares it lost a latency later: whenever our own receive thread did
    // not run for that long (a busy two-core kiosk), packets that were merely queued in the
    // socket were dropped as "too late", and the picture froze until a keyframe came back.
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(jb), "rtx-next-seqnum"))
        g_object_set(jb, "rtx-next-seqnum", FALSE, nullptr);
    const auto &pts = *static_cast<std::shared_ptr<const VideoPayloadTypes> *>(data);
    if (!pts || pts->media.load() < 0)
        return;
    auto sink = Ref<GstPad>::adopt(gst_element_get_static_pad(jb, "sink"));
    if (!sink)
        return;
    gst_pad_add_probe(sink.get(), GST_PAD_PROBE_TYPE_BUFFER, on_first_packet, new NackByPt{pts, jb},
                      [](gpointer d) { delete static_cast<NackByPt *>(d); });
}

// What we can take on an m-line of `kind` that we did not plan for: the codecs
// --video-codec allows (for video) or Opus, each with its table fmtp, any payload type.
Ref<GstCaps> acceptable_caps(GstWebRTCKind kind, VideoCodecPref pref) {
    auto caps = Ref<GstCaps>::adopt(gst_caps_new_empty());
    std::vector<Codec> codecs;
    if (kind == GST_WEBRTC_KIND_VIDEO)
        codecs = allowed_video_codecs(pref);
    else if (kind == GST_WEBRTC_KIND_AUDIO)
        codecs = {Codec::Opus};
    for (Codec c : codecs) {
        const CodecSpec &spec = codec_spec(c);
        if (!installed_decoder(spec))
            continue;
        std::string s = rtp_caps(spec, 0);
        // Any payload type: the offer's numbers are kept.
        auto one = Ref<GstCaps>::adopt(gst_caps_from_string(s.c_str()));
        if (!one)
            continue;
        gst_structure_remove_field(gst_caps_get_structure(one.get(), 0), "payload");
        gst_caps_append(caps.get(), gst_caps_copy(one.get()));
    }
    return caps;
}

} // namespace

// libnice would search the LAN for a UPnP gateway to map ports on: slow, chatty, and of no
// use when STUN/TURN come from the server. Reached through plain GObject properties, so
// nothing here depends on libnice's headers; a different ICE backend is left alone.
void disable_upnp(GstElement *webrtc) {
    Ref<GObject> ice;
    g_object_get(webrtc, "ice-agent", ice.out(), nullptr);
    if (!ice || !g_object_class_find_property(G_OBJECT_GET_CLASS(ice.get()), "agent"))
        return;
    Ref<GObject> agent;
    g_object_get(ice.get(), "agent", agent.out(), nullptr);
    if (agent && g_object_class_find_property(G_OBJECT_GET_CLASS(agent.get()), "upnp"))
        g_object_set(agent.get(), "upnp", FALSE, nullptr);
    else
        GST_DEBUG("ICE agent has no upnp switch");
}

// A lost video packet is asked for again instead of freezing the picture until the next
// keyframe (depayloaders wait for one after a gap). Needs a jitter-buffer latency above the
// round trip to help. Audio is left alone: Opus conceals a lost packet better than a late
// one helps.
void enable_video_nack(GstElement *webrtc) {
    GArray *transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
        auto *t = g_array_index(transceivers, GstWebRTCRTPTransceiver *, i);
        GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;
        g_object_get(t, "kind", &kind, nullptr);
        if (kind == GST_WEBRTC_KIND_VIDEO)
            g_object_set(t, "do-nack", TRUE, nullptr);
    }
    if (transceivers)
        g_array_unref(transceivers);
}

// Video forward error correction as webrtcbin 1.22 does it per transceiver: an offer then
// carries red/90000 and ulpfec/90000 (and RTX for RED); an answer carries them only if the
// offer did. Where both ends agreed, webrtcbin puts rtpulpfecenc and rtpredenc after the
// payloader (every packet goes out in RED; FEC packets only at a percentage above 0) and
// rtpreddec and rtpulpfecdec after the receive jitter buffer.
void enable_video_fec(GstElement *webrtc) {
    GArray *transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
        auto *t = g_array_index(transceivers, GstWebRTCRTPTransceiver *, i);
        GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;
        g_object_get(t, "kind", &kind, nullptr);
        if (kind == GST_WEBRTC_KIND_VIDEO &&
            g_object_class_find_property(G_OBJECT_GET_CLASS(t), "fec-type"))
            g_object_set(t, "fec-type", GST_WEBRTC_FEC_TYPE_ULP_RED, "fec-percentage", 0u, nullptr);
    }
    if (transceivers)
        g_array_unref(transceivers);
}

namespace {

// RFC 8285 one-byte header extensions: the 0xBEDE profile, then elements of an id (high
// nibble) and a length less one (low nibble); id 0 is padding, 15 ends the list.
void move_red_twcc_slot(GstBuffer *buf, guint8 to_id) {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(buf, GST_MAP_READWRITE, &rtp))
        return;
    guint16 bits = 0;
    gpointer data = nullptr;
    guint words = 0;
    if (gst_rtp_buffer_get_extension_data(&rtp, &bits, &data, &words) && bits == 0xBEDE) {
        auto *b = static_cast<guint8 *>(data);
        for (guint i = 0, end = words * 4; i < end;) {
            guint8 id = b[i] >> 4, len = (b[i] & 0x0f) + 1;
            if (id == 0) {
                ++i;
                continue;
            }
            if (id == 15)
                break;
            if (id == 1 && len == 2) {
                b[i] = guint8(to_id << 4) | (b[i] & 0x0f);
                break;
            }
            i += 1 + len;
        }
    }
    gst_rtp_buffer_unmap(&rtp);
}

void watch_red_encoder(GstElement *red, unsigned twcc_ext) {
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(red, "src"));
    if (!src)
        return;
    GST_DEBUG_OBJECT(red, "moving its transport-wide sequence number slot to id %u", twcc_ext);
    gst_pad_add_probe(
        src.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *info, gpointer id) -> GstPadProbeReturn {
            GstBuffer *buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
            GST_PAD_PROBE_INFO_DATA(info) = buf;
            move_red_twcc_slot(buf, guint8(GPOINTER_TO_UINT(id)));
            return GST_PAD_PROBE_OK;
        },
        GUINT_TO_POINTER(twcc_ext), nullptr);
}

} // namespace

void carry_twcc_through_red(GstElement *webrtc, unsigned twcc_ext) {
    if (twcc_ext == 0 || twcc_ext == 1 || twcc_ext > 14)
        return;
    // webrtcbin builds the encoders in a bin of their own and adds that to rtpbin: the
    // encoder is inside the element this reports.
    g_signal_connect_data(webrtc, "deep-element-added",
                          G_CALLBACK(+[](GstBin *, GstBin *, GstElement *e, gpointer id) {
                              if (made_by(e, "rtpredenc")) {
                                  watch_red_encoder(e, GPOINTER_TO_UINT(id));
                                  return;
                              }
                              if (!GST_IS_BIN(e))
                                  return;
                              for_each_element(GST_BIN(e), [id](GstElement *child) {
                                  if (made_by(child, "rtpredenc"))
                                      watch_red_encoder(child, GPOINTER_TO_UINT(id));
                                  return true;
                              });
                          }),
                          GUINT_TO_POINTER(twcc_ext), nullptr, GConnectFlags(0));
}

void set_video_fec_percent(GstPad *webrtc_sink, int percent) {
    if (!webrtc_sink ||
        !g_object_class_find_property(G_OBJECT_GET_CLASS(webrtc_sink), "transceiver"))
        return;
    Ref<GObject> t;
    g_object_get(webrtc_sink, "transceiver", t.out(), nullptr);
    if (t && g_object_class_find_property(G_OBJECT_GET_CLASS(t.get()), "fec-percentage"))
        g_object_set(t.get(), "fec-percentage", guint(std::max(0, percent)), nullptr);
}

void tune_rtpbin(GstElement *webrtc, std::shared_ptr<const VideoPayloadTypes> nack_pts) {
    auto rtpbin = Ref<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin"));
    if (!rtpbin) {
        GST_WARNING("webrtcbin has no child named rtpbin: jitter buffers start slowly, "
                    "retransmissions only where webrtcbin asks, feedback keeps the 5 s rule");
        return;
    }
    g_signal_connect_data(
        rtpbin.get(), "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer),
        new std::shared_ptr<const VideoPayloadTypes>(std::move(nack_pts)),
        [](gpointer d, GClosure *) {
            delete static_cast<std::shared_ptr<const VideoPayloadTypes> *>(d);
        },
        GConnectFlags(0));
    g_signal_connect(
        rtpbin.get(), "element-added", G_CALLBACK(+[](GstBin *, GstElement *child, gpointer) {
            GstElementFactory *f = gst_element_get_factory(child);
            if (f && g_strcmp0(GST_OBJECT_NAME(f), "rtpsession") == 0 &&
                g_object_class_find_property(G_OBJECT_GET_CLASS(child), "rtcp-min-interval"))
                g_object_set(child, "rtcp-min-interval", kRtcpMinIntervalNs, nullptr);
            if (f && g_strcmp0(GST_OBJECT_NAME(f), "rtpsession") == 0) {
                GObject *internal = nullptr;
                g_object_get(child, "internal-session", &internal, nullptr);
                if (internal && g_object_class_find_property(G_OBJECT_GET_CLASS(internal),
                                                             "twcc-feedback-interval"))
                    g_object_set(internal, "twcc-feedback-interval", kTwccFeedbackIntervalNs,
                                 nullptr);
                if (internal)
                    g_object_unref(internal);
            }
        }),
        nullptr);
}

bool add_twcc_extension(GstElement *branch, GstCaps *caps, unsigned id) {
    if (id < 1 || id > 14)
        return false;
    GstElement *payloader = nullptr; // borrowed: the bin holds it
    for_each_element(GST_BIN(branch), [&](GstElement *e) {
        if (GST_IS_RTP_BASE_PAYLOAD(e))
            payloader = e;
        return !payloader;
    });
    if (!payloader || !g_signal_lookup("add-extension", G_OBJECT_TYPE(payloader)))
        return false;
    auto ext =
        Ref<GstRTPHeaderExtension>::adopt(gst_rtp_header_extension_create_from_uri(kTwccUri));
    if (!ext)
        return false;
    gst_rtp_header_extension_set_id(ext.get(), id);
    g_signal_emit_by_name(payloader, "add-extension", ext.get());
    std::string field = "extmap-" + std::to_string(id);
    for (guint i = 0; i < gst_caps_get_size(caps); ++i)
        gst_structure_set(gst_caps_get_structure(caps, i), field.c_str(), G_TYPE_STRING, kTwccUri,
                          "rtcp-fb-transport-cc", G_TYPE_BOOLEAN, TRUE, nullptr);
    GST_DEBUG_OBJECT(payloader, "transport-wide sequence numbers as extension %u", id);
    return true;
}

void pin_codec_preferences(GstElement *webrtc, const GstCaps *caps) {
    GArray *transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
        auto *t = g_array_index(transceivers, GstWebRTCRTPTransceiver *, i);
        Ref<GstCaps> prefs;
        g_object_get(t, "codec-preferences", prefs.out(), nullptr);
        if (!prefs)
            g_object_set(t, "codec-preferences", caps, nullptr);
    }
    if (transceivers)
        g_array_unref(transceivers);
}

void narrow_new_transceivers(GstElement *webrtc, VideoCodecPref pref) {
    // webrtcbin 1.22 makes the transceiver for an offered m-line that none of ours matches
    // while it writes the answer, and emits on-new-transceiver before it reads the
    // transceiver's codec preferences: set there, they decide the answer.
    g_signal_connect(webrtc, "on-new-transceiver",
                     G_CALLBACK(+[](GstElement *, GstWebRTCRTPTransceiver *t, gpointer data) {
                         GstWebRTCKind kind = GST_WEBRTC_KIND_UNKNOWN;
                         g_object_get(t, "kind", &kind, nullptr);
                         auto caps = acceptable_caps(kind, VideoCodecPref(GPOINTER_TO_INT(data)));
                         Owned<gchar> text(gst_caps_to_string(caps.get()));
                         GST_INFO_OBJECT(t, "an m-line we did not plan for: answered only with %s",
                                         gst_caps_is_empty(caps.get()) ? "nothing (rejected)"
                                                                       : text.get());
                         g_object_set(t, "codec-preferences", caps.get(), nullptr);
                     }),
                     GINT_TO_POINTER(int(pref)));
}

void tidy_rejected_media(GstSDPMessage *answer) {
    // Our own transport's attributes, from the first m-line we accepted.
    constexpr const char *kTransport[] = {"fingerprint", "ice-ufrag", "ice-pwd", "setup"};
    std::vector<std::pair<std::string, std::string>> ours;
    for (guint i = 0; i < gst_sdp_message_medias_len(answer) && ours.empty(); ++i) {
        const GstSDPMedia *m = gst_sdp_message_get_media(answer, i);
        if (gst_sdp_media_get_port(m) == 0)
            continue;
        for (const char *key : kTransport)
            if (const char *v = gst_sdp_media_get_attribute_val(m, key))
                ours.emplace_back(key, v);
    }
    for (guint i = 0; i < gst_sdp_message_medias_len(answer); ++i) {
        auto *m = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(answer, i));
        if (gst_sdp_media_get_port(m) != 0 || gst_sdp_media_get_attribute_val(m, "bundle-only"))
            continue;
        // Left: what identifies the m-line (mid, formats). Replaced: the offerer's transport
        // attributes, by ours. Gone: its streams and its direction.
        for (guint a = gst_sdp_media_attributes_len(m); a-- > 0;) {
            const char *key = gst_sdp_media_get_attribute(m, a)->key;
            for (const char *drop : {"fingerprint", "ice-ufrag", "ice-pwd", "setup", "candidate",
                                     "ssrc", "ssrc-group", "msid", "sendrecv", "sendonly",
                                     "recvonly"})
                if (g_strcmp0(key, drop) == 0) {
                    gst_sdp_media_remove_attribute(m, a);
                    break;
                }
        }
        for (const auto &[key, value] : ours)
            gst_sdp_media_add_attribute(m, key.c_str(), value.c_str());
        gst_sdp_media_add_attribute(m, "inactive", ""); // NULL crashes gstsdp later
    }
}

namespace {

// An `a=fmtp` value without its `key=...` parameter (and its separator).
std::string without_param(const char *fmtp, const char *key) {
    std::string v = fmtp;
    std::string::size_type sp = v.find(' ');
    if (sp == std::string::npos)
        return v;
    std::string out = v.substr(0, sp + 1);
    bool first = true;
    Owned<gchar *> params(g_strsplit(v.c_str() + sp + 1, ";", -1));
    for (gchar **p = params.get(); *p; ++p) {
        std::string param = *p;
        if (g_str_has_prefix(g_strstrip(*p), key) && (*p)[std::strlen(key)] == '=')
            continue;
        out += (first ? "" : ";") + param;
        first = false;
    }
    return out;
}

// What our offer says about what our encoder happens to make (H.264's SPS/PPS, the frame
// rate) is left out. webrtcbin 1.22, answering, matches an offered m-line to its own
// transceiver only if the formats agree on every field both name, its own encoder's
// values included: an offer carrying openh264's sprop-parameter-sets was answered by a
// duet-peer with x264enc through a new receive-only transceiver, and it sent no video.
// Both are in the stream anyway (rtph264pay config-interval=-1).
void drop_sender_details(GstSDPMedia *m) {
    for (guint a = gst_sdp_media_attributes_len(m); a-- > 0;) {
        const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
        if (g_strcmp0(attr->key, "framerate") == 0) {
            gst_sdp_media_remove_attribute(m, a);
        } else if (g_strcmp0(attr->key, "fmtp") == 0 && attr->value &&
                   std::strstr(attr->value, "sprop-parameter-sets=")) {
            std::string v = without_param(attr->value, "sprop-parameter-sets");
            GstSDPAttribute replaced;
            gst_sdp_attribute_set(&replaced, "fmtp", v.c_str());
            gst_sdp_media_replace_attribute(m, a, &replaced);
        }
    }
}

} // namespace

std::string sdp_for_wire(const GstSDPMessage *sdp, bool offer) {
    GstSDPMessage *raw = nullptr;
    gst_sdp_message_copy(sdp, &raw);
    Owned<GstSDPMessage> copy(raw);
    for (guint i = 0; i < gst_sdp_message_medias_len(copy.get()); ++i) {
        auto *m = const_cast<GstSDPMedia *>(gst_sdp_message_get_media(copy.get(), i));
        if (offer)
            drop_sender_details(m);
        for (guint a = 0; a < gst_sdp_media_attributes_len(m); ++a) {
            const GstSDPAttribute *attr = gst_sdp_media_get_attribute(m, a);
            if (g_strcmp0(attr->key, "bundle-only") != 0)
                continue;
            gst_sdp_media_remove_attribute(m, a);
            if (gst_sdp_media_get_port(m) == 0)
                gst_sdp_media_set_port_info(m, kDiscardPort, 0);
            break;
        }
    }
    Owned<gchar> text(gst_sdp_message_as_text(copy.get()));
    return text.get();
}

} // namespace duet::pipelines
