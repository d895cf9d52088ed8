// SPDX-License-Identifier: MIT
// webrtcbin wiring for one remote peer: payloaders, offer/answer, ICE, receive branches.
#include "pipelines/webrtc_session.h"

#include "common/gst_ref.h"
#include "common/main_thread.h"
#include "pipelines/debug.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sdp_util.h"
#include "pipelines/webrtcbin_teardown.h"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {
namespace {

// What a callback on a GStreamer thread needs to reach the session on the main thread.
struct Hop {
    LifelineHandle life;
    WebrtcSession *session;
};

void run_on_main(const Hop &hop, std::function<void(WebrtcSession &)> fn) {
    WebrtcSession *s = hop.session;
    hop.life.post([s, fn = std::move(fn)] { fn(*s); });
}

PeerState from_gst(GstWebRTCPeerConnectionState s) {
    switch (s) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_NEW:
        return PeerState::New;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING:
        return PeerState::Connecting;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
        return PeerState::Connected;
    case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED:
        return PeerState::Disconnected;
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
        return PeerState::Failed;
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
        return PeerState::Closed;
    }
    return PeerState::New;
}

// libnice would search the LAN for a UPnP gateway to map ports on: slow, chatty, and of no
// use when STUN/TURN come from the server. Reached through plain GObject properties, so
// nothing here depends on libnice's headers; a different ICE backend is left alone.
void disable_upnp(GstElement *webrtc) {
    GObject *ice = nullptr;
    g_object_get(webrtc, "ice-agent", &ice, nullptr);
    if (!ice)
        return;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) {
        GObject *agent = nullptr;
        g_object_get(ice, "agent", &agent, nullptr);
        if (agent && g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
            g_object_set(agent, "upnp", FALSE, nullptr);
        else
            GST_DEBUG("ICE agent has no upnp switch");
        if (agent)
            g_object_unref(agent);
    }
    g_object_unref(ice);
}

// NACK (with RTX) on every transceiver that exists now: a lost video packet is asked for
// again instead of freezing the picture until the next keyframe (rtpvp8depay waits for one
// after a gap). Needs a jitter-buffer latency above the round trip to help.
void enable_nack(GstElement *webrtc) {
    GArray *transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i)
        g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver *, i), "do-nack", TRUE,
                     nullptr);
    if (transceivers)
        g_array_unref(transceivers);
}

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

// Settings for what webrtcbin's rtpbin creates later: its RTP sessions (when the
// descriptions are set) and a jitter buffer per incoming stream.
void tune_rtpbin(GstElement *webrtc) {
    GstElement *rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
    if (!rtpbin) {
        GST_WARNING("webrtcbin has no child named rtpbin: jitter buffers start slowly, "
                    "retransmissions only where webrtcbin asks, feedback keeps the 5 s rule");
        return;
    }
    // webrtcbin 1.22 turns retransmission requests on only for streams whose SSRC the remote
    // SDP names, and an offer made before the first frame names none for video: the
    // answerer would never ask. Every jitter buffer asks; the sender ignores requests for
    // streams without RTX (audio).
    g_signal_connect(
        rtpbin, "new-jitterbuffer",
        G_CALLBACK(+[](GstElement *, GstElement *jb, guint, guint, gpointer) {
            g_object_set(jb, "do-retransmission", TRUE, nullptr);
            if (g_object_class_find_property(G_OBJECT_GET_CLASS(jb), "faststart-min-packets"))
                g_object_set(jb, "faststart-min-packets", kFaststartPackets, nullptr);
        }),
        nullptr);
    g_signal_connect(
        rtpbin, "element-added", G_CALLBACK(+[](GstBin *, GstElement *child, gpointer) {
            GstElementFactory *f = gst_element_get_factory(child);
            if (f && g_strcmp0(GST_OBJECT_NAME(f), "rtpsession") == 0 &&
                g_object_class_find_property(G_OBJECT_GET_CLASS(child), "rtcp-min-interval"))
                g_object_set(child, "rtcp-min-interval", kRtcpMinIntervalNs, nullptr);
        }),
        nullptr);
    gst_object_unref(rtpbin);
}

} // namespace

const char *peer_state_name(PeerState s) {
    switch (s) {
    case PeerState::New:
        return "new";
    case PeerState::Connecting:
        return "connecting";
    case PeerState::Connected:
        return "connected";
    case PeerState::Disconnected:
        return "disconnected";
    case PeerState::Failed:
        return "failed";
    case PeerState::Closed:
        return "closed";
    }
    return "new";
}

WebrtcSession::WebrtcSession(SessionConfig config, SessionListener *listener)
    : config_(std::move(config)), listener_(listener) {}

Result<std::unique_ptr<WebrtcSession>> WebrtcSession::create(GstBin *pipeline, Sources sources,
                                                             SessionConfig config,
                                                             SessionListener *listener) {
    std::unique_ptr<WebrtcSession> s(new WebrtcSession(std::move(config), listener));
    std::string error;
    if (!s->build(pipeline, sources, &error))
        return duet::fail(error);
    return s;
}

bool WebrtcSession::link_send_branch(const std::string &description, const std::string &caps_str,
                                     const char *ghost_name, std::string *error) {
    GErr err;
    GstElement *branch = gst_parse_bin_from_description(description.c_str(), TRUE, err.out());
    if (!branch) {
        *error = std::string("cannot build payloader: ") + err.message();
        return false;
    }
    gst_bin_add(GST_BIN(bin_.get()), branch);
    // Requesting the pad with caps tells webrtcbin the media kind and codec at once, so an
    // offer that arrives before the first encoded frame is still answered sendrecv.
    auto caps = Ref<GstCaps>::adopt(gst_caps_from_string(caps_str.c_str()));
    GstPadTemplate *templ = gst_element_get_pad_template(webrtc_, "sink_%u");
    GstPad *sink = gst_element_request_pad(webrtc_, templ, nullptr, caps.get());
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch, "src"));
    if (!sink || GST_PAD_LINK_FAILED(gst_pad_link(src.get(), sink))) {
        *error = "cannot link a payloader to webrtcbin";
        if (sink)
            gst_object_unref(sink);
        return false;
    }
    // webrtcbin keeps its request pads; the reference we got is ours to drop.
    gst_object_unref(sink);
    // Tell the main thread when the payloader's first packet has gone through (on_remote_set).
    ++send_pending_;
    gst_pad_add_probe(
        src.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) -> GstPadProbeReturn {
            run_on_main(*static_cast<Hop *>(data), [](WebrtcSession &s) { s.on_send_flowing(); });
            return GST_PAD_PROBE_REMOVE;
        },
        new Hop{lifeline_.handle(), this}, [](gpointer data) { delete static_cast<Hop *>(data); });
    auto target = Ref<GstPad>::adopt(gst_element_get_static_pad(branch, "sink"));
    GstPad *ghost = gst_ghost_pad_new(ghost_name, target.get());
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin_.get(), ghost);
    return true;
}

bool WebrtcSession::build(GstBin *pipeline, Sources sources, std::string *error) {
    pipeline_ = pipeline;
    // Unique in the pipeline: a peer's previous session is removed before its next one.
    std::string name = "session-" + config_.peer_id;
    bin_ = Ref<GstElement>::adopt(gst_bin_new(name.c_str()));
    webrtc_ = gst_element_factory_make("webrtcbin", "webrtc");
    if (!webrtc_) {
        *error = "webrtcbin is not installed (gstreamer1.0-plugins-bad)";
        return false;
    }
    g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
                 guint(config_.latency_ms), nullptr);
    if (config_.relay_only)
        g_object_set(webrtc_, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY,
                     nullptr);
    if (!config_.stun_server.empty())
        g_object_set(webrtc_, "stun-server", config_.stun_server.c_str(), nullptr);
    for (const auto &turn : config_.turn_servers) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(webrtc_, "add-turn-server", turn.c_str(), &ok);
        if (!ok)
            g_warning("peer %s: webrtcbin refused TURN server %s", config_.peer_id.c_str(),
                      turn.c_str());
    }
    disable_upnp(webrtc_);
    tune_rtpbin(webrtc_);
    gst_bin_add(GST_BIN(bin_.get()), webrtc_);

    if (!link_send_branch(video_payload_description(config_.video_pt),
                          video_rtp_caps(config_.video_pt), "video_sink", error))
        return false;
    enable_nack(webrtc_); // only the video transceiver so far: Opus conceals, not resends
    if (!link_send_branch(audio_payload_description(config_.audio_pt),
                          audio_rtp_caps(config_.audio_pt), "audio_sink", error))
        return false;
    // Only now, with the request pads linked, may negotiation-needed be acted upon.
    connect_signals();

    if (!gst_bin_add(pipeline, bin_.get())) {
        *error = "a session for this peer is still in the pipeline";
        return false;
    }
    // Running before the tees are linked: a stopped branch would answer the shared encoder
    // with FLUSHING and stall every other peer's stream.
    if (!gst_element_sync_state_with_parent(bin_.get())) {
        *error = "cannot start webrtcbin";
        return false;
    }
    for (auto [tee, ghost_name] :
         {std::pair{sources.video_tee, "video_sink"}, std::pair{sources.audio_tee, "audio_sink"}}) {
        auto tee_pad = Ref<GstPad>::adopt(gst_element_request_pad_simple(tee, "src_%u"));
        auto ghost = Ref<GstPad>::adopt(gst_element_get_static_pad(bin_.get(), ghost_name));
        GstPadLinkReturn ret = gst_pad_link(tee_pad.get(), ghost.get());
        tee_links_.push_back(TeeLink{tee, std::move(tee_pad), ghost.get()}); // the bin holds it
        if (GST_PAD_LINK_FAILED(ret)) {
            *error = std::string("cannot link the encoder to the session: ") +
                     gst_pad_link_get_name(ret);
            return false;
        }
    }
    GST_INFO("session %s ready (%s, pt video %u audio %u)", config_.peer_id.c_str(),
             config_.offerer ? "offerer" : "answerer", config_.video_pt, config_.audio_pt);
    return true;
}

void WebrtcSession::connect_signals() {
    const Hop proto{lifeline_.handle(), this};
    GClosureNotify free_hop = [](gpointer data, GClosure *) { delete static_cast<Hop *>(data); };
    // Each handler gets its own copy so each can be freed with its closure.
    auto copy = [&] { return new Hop(proto); };
    handlers_.push_back(g_signal_connect_data(webrtc_, "on-negotiation-needed",
                                              G_CALLBACK(+[](GstElement *, Hop *h) {
                                                  run_on_main(*h, [](WebrtcSession &s) {
                                                      if (s.config_.offerer && !s.offer_started_)
                                                          s.create_offer();
                                                  });
                                              }),
                                              copy(), free_hop, GConnectFlags(0)));
    handlers_.push_back(g_signal_connect_data(
        webrtc_, "on-ice-candidate",
        G_CALLBACK(+[](GstElement *, guint mline, gchar *cand, Hop *h) {
            std::string c = cand ? cand : "";
            run_on_main(*h, [mline, c](WebrtcSession &s) { s.handle_local_candidate(mline, c); });
        }),
        copy(), free_hop, GConnectFlags(0)));
    handlers_.push_back(g_signal_connect_data(
        webrtc_, "notify::connection-state", G_CALLBACK(+[](GstElement *, GParamSpec *, Hop *h) {
            run_on_main(*h, [](WebrtcSession &s) { s.handle_state_change(); });
        }),
        copy(), free_hop, GConnectFlags(0)));
    handlers_.push_back(
        g_signal_connect_data(webrtc_, "notify::ice-connection-state",
                              G_CALLBACK(+[](GstElement *w, GParamSpec *, Hop *) {
                                  GstWebRTCICEConnectionState st;
                                  g_object_get(w, "ice-connection-state", &st, nullptr);
                                  GST_INFO_OBJECT(w, "ICE connection state %d", int(st));
                              }),
                              copy(), free_hop, GConnectFlags(0)));
    handlers_.push_back(g_signal_connect_data(
        webrtc_, "pad-added", G_CALLBACK(+[](GstElement *, GstPad *pad, Hop *h) {
            if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
                return;
            // Hold the stream here until the main thread has linked a branch, so no buffer
            // meets an unlinked pad (which would be a not-linked error for the whole call).
            gulong probe = gst_pad_add_probe(
                pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM,
                [](GstPad *, GstPadProbeInfo *, gpointer) { return GST_PAD_PROBE_OK; }, nullptr,
                nullptr);
            auto owned = Ref<GstPad>::ref(pad);
            run_on_main(*h,
                        [owned, probe](WebrtcSession &s) { s.handle_new_pad(owned.get(), probe); });
        }),
        copy(), free_hop, GConnectFlags(0)));
}

WebrtcSession::~WebrtcSession() {
    lifeline_.cut();
    if (webrtc_)
        for (gulong h : handlers_)
            g_signal_handler_disconnect(webrtc_, h);
    for (auto &l : tee_links_) {
        gst_pad_unlink(l.tee_pad.get(), l.ghost);
        gst_element_release_request_pad(l.tee, l.tee_pad.get());
    }
    tee_links_.clear();
    if (webrtc_)
        detach_receive_bins_from_ice(webrtc_);
    if (bin_) {
        gst_element_set_state(bin_.get(), GST_STATE_NULL);
        if (pipeline_ && GST_OBJECT_PARENT(bin_.get()) == GST_OBJECT(pipeline_))
            gst_bin_remove(pipeline_, bin_.get());
    }
}

bool WebrtcSession::owns(GstObject *obj) const {
    for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o))
        if (o == GST_OBJECT(bin_.get()))
            return true;
    return false;
}

GstPromise *WebrtcSession::promise_to_main(void (WebrtcSession::*fn)(GstPromise *)) {
    struct Data {
        Hop hop;
        void (WebrtcSession::*fn)(GstPromise *);
    };
    auto *d = new Data{Hop{lifeline_.handle(), this}, fn};
    return gst_promise_new_with_change_func(
        [](GstPromise *p, gpointer data) {
            auto *d = static_cast<Data *>(data);
            auto held = Ref<GstPromise>::ref(p);
            auto fn = d->fn;
            run_on_main(d->hop, [held, fn](WebrtcSession &s) { (s.*fn)(held.get()); });
        },
        d, [](gpointer data) { delete static_cast<Data *>(data); });
}

void WebrtcSession::emit_with_promise(const char *signal, gpointer arg,
                                      void (WebrtcSession::*fn)(GstPromise *)) {
    // webrtcbin holds the promise until it replies, and the reply handler takes its own
    // reference; ours only serves to hand it over.
    auto p = Ref<GstPromise>::adopt(promise_to_main(fn));
    g_signal_emit_by_name(webrtc_, signal, arg, p.get());
}

bool WebrtcSession::promise_ok(GstPromise *p, const char *what) {
    if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED) {
        fail(std::string(what) + ": no reply from webrtcbin");
        return false;
    }
    const GstStructure *reply = gst_promise_get_reply(p);
    if (reply && gst_structure_has_field(reply, "error")) {
        GError *e = nullptr;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &e, nullptr);
        fail(std::string(what) + ": " + (e ? e->message : "unknown error"));
        if (e)
            g_error_free(e);
        return false;
    }
    return true;
}

void WebrtcSession::fail(const std::string &why) {
    if (failed_)
        return;
    failed_ = true;
    GST_WARNING("peer %s: %s", config_.peer_id.c_str(), why.c_str());
    listener_->on_failure(*this, why);
}

void WebrtcSession::create_offer() {
    offer_started_ = true;
    GST_DEBUG("peer %s: creating offer", config_.peer_id.c_str());
    emit_with_promise("create-offer", nullptr, &WebrtcSession::on_offer_created);
}

void WebrtcSession::on_offer_created(GstPromise *p) {
    if (promise_ok(p, "create-offer"))
        set_local_from_reply(p, "offer");
}

void WebrtcSession::create_answer() {
    emit_with_promise("create-answer", nullptr, &WebrtcSession::on_answer_created);
}

void WebrtcSession::on_answer_created(GstPromise *p) {
    if (promise_ok(p, "create-answer"))
        set_local_from_reply(p, "answer");
}

void WebrtcSession::set_local_from_reply(GstPromise *p, const char *field) {
    const GstStructure *reply = gst_promise_get_reply(p);
    GstWebRTCSessionDescription *desc = nullptr;
    if (reply)
        gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
    if (!desc) {
        fail(std::string("webrtcbin produced no ") + field);
        return;
    }
    gchar *text = gst_sdp_message_as_text(desc->sdp);
    local_type_ = field;
    std::string sdp = text;
    GST_DEBUG("peer %s: local %s:\n%s", config_.peer_id.c_str(), field, text);
    g_free(text);
    local_mids_ = media_mids(sdp);
    emit_with_promise("set-local-description", desc, &WebrtcSession::on_local_set);
    gst_webrtc_session_description_free(desc);
    // The SDP goes out once webrtcbin accepted it (on_local_set); keep it until then.
    pending_local_sdp_ = std::move(sdp);
}

void WebrtcSession::on_local_set(GstPromise *p) {
    if (!promise_ok(p, "set-local-description"))
        return;
    local_sent_ = true;
    std::string sdp = std::move(pending_local_sdp_);
    listener_->on_local_description(*this, local_type_, sdp);
    flush_local_candidates();
}

void WebrtcSession::apply_remote_description(const std::string &type, const std::string &sdp) {
    bool is_offer = type == "offer";
    if (is_offer == config_.offerer) {
        GST_WARNING("peer %s: ignoring an unexpected %s", config_.peer_id.c_str(), type.c_str());
        return;
    }
    if (remote_set_) {
        GST_WARNING("peer %s: ignoring a second %s", config_.peer_id.c_str(), type.c_str());
        return;
    }
    GST_DEBUG("peer %s: remote %s:\n%s", config_.peer_id.c_str(), type.c_str(), sdp.c_str());
    GstSDPMessage *msg = nullptr;
    gst_sdp_message_new(&msg);
    if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8 *>(sdp.data()),
                                     guint(sdp.size()), msg) != GST_SDP_OK ||
        gst_sdp_message_medias_len(msg) == 0) {
        gst_sdp_message_free(msg);
        fail("the remote " + type + " is not usable SDP");
        return;
    }
    auto *desc = gst_webrtc_session_description_new(
        is_offer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, msg);
    emit_with_promise("set-remote-description", desc, &WebrtcSession::on_remote_set);
    gst_webrtc_session_description_free(desc);
}

void WebrtcSession::on_remote_set(GstPromise *p) {
    if (!promise_ok(p, "set-remote-description"))
        return;
    remote_set_ = true;
    flush_remote_candidates();
    if (config_.offerer)
        return;
    // webrtcbin 1.22 answers from what its sink pads have seen (caps with the SSRC). An
    // answer written before the first packets reached it left the browser without our
    // media in about one call in three (tests/peer-browser, both orders with the browser
    // offering). The DTLS key generation used to hide that (call_pipeline.cpp warms it up
    // now), so wait for both payloaders' first packet: at most one frame (20-33 ms) once
    // the encoders run. Waiting for the caps alone was not enough.
    if (send_pending_ > 0)
        answer_waiting_ = true;
    else
        create_answer();
}

void WebrtcSession::on_send_flowing() {
    if (send_pending_ > 0 && --send_pending_ == 0 && answer_waiting_) {
        answer_waiting_ = false;
        create_answer();
    }
}

void WebrtcSession::add_remote_candidate(unsigned mline, const std::string &candidate) {
    if (candidate.empty())
        return; // end-of-candidates; webrtcbin 1.22 has nothing to do with it
    if (is_mdns_candidate(candidate)) {
        // libnice cannot resolve .local names without an mDNS resolver; say so once per
        // candidate rather than failing silently later with no route.
        ++mdns_skipped_;
        g_warning("peer %s: skipping mDNS candidate %s (libnice cannot resolve .local names; "
                  "start Chromium with --disable-features=WebRtcHideLocalIpsWithMdns or use a "
                  "STUN server)",
                  config_.peer_id.c_str(), candidate_address(candidate).c_str());
        return;
    }
    if (!remote_set_) {
        pending_remote_.emplace_back(mline, candidate);
        return;
    }
    g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, candidate.c_str());
}

void WebrtcSession::flush_remote_candidates() {
    auto pending = std::move(pending_remote_);
    pending_remote_.clear();
    for (auto &[mline, cand] : pending)
        g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, cand.c_str());
}

void WebrtcSession::handle_local_candidate(unsigned mline, const std::string &candidate) {
    // Our SDP must reach the peer before our candidates do.
    if (!local_sent_) {
        pending_local_.emplace_back(mline, candidate);
        return;
    }
    std::string mid = mline < local_mids_.size() ? local_mids_[mline] : std::string();
    listener_->on_local_candidate(*this, mline, mid, candidate);
}

void WebrtcSession::flush_local_candidates() {
    auto pending = std::move(pending_local_);
    pending_local_.clear();
    for (auto &[mline, cand] : pending)
        handle_local_candidate(mline, cand);
}

void WebrtcSession::handle_state_change() {
    GstWebRTCPeerConnectionState st;
    g_object_get(webrtc_, "connection-state", &st, nullptr);
    PeerState next = from_gst(st);
    if (next == state_)
        return;
    state_ = next;
    g_info("peer %s: connection %s", config_.peer_id.c_str(), peer_state_name(next));
    if (next == PeerState::Failed && mdns_skipped_ > 0)
        g_warning("peer %s: ICE failed after %u mDNS candidates were skipped; the peer's "
                  "browser hides its addresses behind .local names",
                  config_.peer_id.c_str(), mdns_skipped_);
    listener_->on_state(*this, next);
}

void WebrtcSession::handle_new_pad(GstPad *pad, gulong block_probe) {
    auto caps = Ref<GstCaps>::adopt(gst_pad_get_current_caps(pad));
    if (!caps)
        caps = Ref<GstCaps>::adopt(gst_pad_query_caps(pad, nullptr));
    auto kind = rtp_media_kind(caps.get());
    bool record = kind && listener_->wants_recording(*this, *kind);
    std::string error;
    ReceiveBranch branch = build_receive_branch(caps.get(), config_.media, record, &error);
    if (!branch.bin) {
        fail(error);
        return;
    }
    gst_bin_add(GST_BIN(bin_.get()), branch.bin);
    gst_element_sync_state_with_parent(branch.bin);
    auto sink = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.bin, "sink"));
    if (GST_PAD_LINK_FAILED(gst_pad_link(pad, sink.get()))) {
        fail("cannot link a receive branch");
        return;
    }
    if (!kind) {
        gchar *s = caps ? gst_caps_to_string(caps.get()) : g_strdup("no caps");
        g_message("peer %s: discarding a stream we do not decode (%s)", config_.peer_id.c_str(), s);
        g_free(s);
    } else {
        // first-frame is reported from after the decoder: the frame really decoded.
        auto dec_src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.decoder, "src"));
        MediaKind k = *kind;
        auto *data = new std::pair<Hop, MediaKind>(Hop{lifeline_.handle(), this}, k);
        gst_pad_add_probe(
            dec_src.get(), GST_PAD_PROBE_TYPE_BUFFER,
            [](GstPad *, GstPadProbeInfo *, gpointer d) -> GstPadProbeReturn {
                auto *hk = static_cast<std::pair<Hop, MediaKind> *>(d);
                MediaKind kind = hk->second;
                run_on_main(hk->first,
                            [kind](WebrtcSession &s) { s.listener_->on_first_frame(s, kind); });
                return GST_PAD_PROBE_REMOVE;
            },
            data, [](gpointer d) { delete static_cast<std::pair<Hop, MediaKind> *>(d); });
        count_decoded(branch, counters_);
        if (record) {
            auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.bin, "src"));
            std::string name = std::string("record_") + media_kind_name(k);
            GstPad *ghost = gst_ghost_pad_new(name.c_str(), src.get());
            gst_pad_set_active(ghost, TRUE);
            gst_element_add_pad(bin_.get(), ghost);
            record_pads_.push_back(ghost);
            listener_->on_record_pad(*this, k, ghost);
        }
    }
    GST_INFO("peer %s: receiving %s", config_.peer_id.c_str(),
             kind ? media_kind_name(*kind) : "an unknown stream");
    // Let the held buffers go, now that they have somewhere to go. (On the failure paths
    // above the pad stays blocked: the session is being torn down anyway.)
    gst_pad_remove_probe(pad, block_probe);
}

} // namespace duet::pipelines
