// SPDX-License-Identifier: MIT
// webrtcbin wiring for one remote peer: building the leg, and offer/answer. ICE is in
// webrtc_session_ice.cpp, the receive side in webrtc_session_receive.cpp.
#include "pipelines/webrtc_session.h"

#include "common/gst_ref.h"
#include "common/main_thread.h"
#include "pipelines/debug.h"
#include "pipelines/launch.h"
#include "pipelines/sdp_util.h"
#include "pipelines/session_hop.h"
#include "pipelines/webrtcbin_setup.h"
#include "pipelines/webrtcbin_teardown.h"

#define GST_USE_UNSTABLE_API
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {

const char *negotiation_name(Negotiation n) {
    switch (n) {
    case Negotiation::Idle:
        return "idle";
    case Negotiation::CreatingOffer:
        return "creating-offer";
    case Negotiation::SettingLocal:
        return "setting-local";
    case Negotiation::AwaitingAnswer:
        return "awaiting-answer";
    case Negotiation::SettingRemote:
        return "setting-remote";
    case Negotiation::WaitingForMedia:
        return "waiting-for-media";
    case Negotiation::CreatingAnswer:
        return "creating-answer";
    case Negotiation::Stable:
        return "stable";
    case Negotiation::Failed:
        return "failed";
    }
    return "idle";
}

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
    if (auto built = s->build(pipeline, sources); !built)
        return built.error();
    return s;
}

Result<void> WebrtcSession::link_send_branch(const std::string &description,
                                             const std::string &caps_str, const char *ghost_name,
                                             unsigned twcc_ext) {
    GErr err;
    auto branch = Ref<GstElement>::adopt(
        gst_parse_bin_from_description(description.c_str(), TRUE, err.out()));
    if (!branch)
        return duet::fail(std::string("cannot build payloader: ") + err.message());
    gst_bin_add(GST_BIN(bin_.get()), branch.get());
    // Requesting the pad with caps tells webrtcbin the media kind and codec at once, so an
    // offer that arrives before the first encoded frame is still answered sendrecv.
    auto caps = Ref<GstCaps>::adopt(gst_caps_from_string(caps_str.c_str()));
    if (caps && twcc_ext && !add_twcc_extension(branch.get(), caps.get(), twcc_ext))
        g_message("peer %s: no transport-wide congestion control for %s (rtphdrexttwcc "
                  "missing?); bandwidth adaptation reads receiver reports only",
                  config_.peer_id.c_str(), ghost_name);
    GstPadTemplate *templ = gst_element_get_pad_template(webrtc_, "sink_%u");
    // webrtcbin keeps its request pads; the reference we get is ours to drop.
    auto sink = Ref<GstPad>::adopt(gst_element_request_pad(webrtc_, templ, nullptr, caps.get()));
    auto src = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.get(), "src"));
    if (!sink || GST_PAD_LINK_FAILED(gst_pad_link(src.get(), sink.get())))
        return duet::fail("cannot link a payloader to webrtcbin");
    pin_codec_preferences(webrtc_, caps.get());
    if (g_str_equal(ghost_name, "video_sink")) {
        video_send_src_ = src.get(); // the bin holds it
        video_webrtc_sink_ = Ref<GstPad>::ref(sink.get());
        find_video_controls(branch.get());
    }
    // Tell the main thread when the payloader's first packet has gone through (on_remote_set).
    ++send_pending_;
    gst_pad_add_probe(
        src.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad *, GstPadProbeInfo *, gpointer data) -> GstPadProbeReturn {
            run_on_main(*static_cast<Hop *>(data), [](WebrtcSession &s) { s.on_send_flowing(); });
            return GST_PAD_PROBE_REMOVE;
        },
        new Hop{lifeline_.handle(), this}, [](gpointer data) { delete static_cast<Hop *>(data); });
    auto target = Ref<GstPad>::adopt(gst_element_get_static_pad(branch.get(), "sink"));
    GstPad *ghost = gst_ghost_pad_new(ghost_name, target.get());
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin_.get(), ghost);
    return {};
}

Result<void> WebrtcSession::make_webrtcbin() {
    webrtc_ = gst_element_factory_make("webrtcbin", "webrtc");
    if (!webrtc_)
        return duet::fail("webrtcbin is not installed (gstreamer1.0-plugins-bad)");
    gst_bin_add(GST_BIN(bin_.get()), webrtc_); // the bin owns it from here
    g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    if (config_.latency_ms == kLatencyAuto)
        latency_ = std::make_unique<LatencyFollower>(
            webrtc_, AdaptiveLatencyConfig{}, [this](int ms, double jitter_ms) {
                listener_->on_latency(*this, ms, jitter_ms);
            });
    else
        g_object_set(webrtc_, "latency", guint(config_.latency_ms), nullptr);
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
    const auto &video = config_.plan.video;
    if (video && video->nack)
        video_pts_->media = int(video->pt);
    tune_rtpbin(webrtc_, video && video->nack ? video_pts_ : nullptr);
    return {};
}

// Until webrtcbin has connected this leg's input (the answer, or our answer, is applied),
// it parks the leg's first packet in a pad block, and with it the thread of the queue that
// starts the leg. A serialized query (an allocation query after the capture renegotiates,
// say) waits in that queue for the parked thread, and the tee asks every leg in turn from
// the capture's thread: one leg still negotiating, or never answered, stopped the capture
// for every other leg (the VP8 leg of a room of three froze after its first frame). Such
// queries are answered here for a leg that is not open yet.
// (On the leg's own pad: the tee queries its peers directly, past its src pads' probes.)
void WebrtcSession::guard_serialized_queries(GstPad *leg_sink) {
    gst_pad_add_probe(
        leg_sink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
        [](GstPad *pad, GstPadProbeInfo *info, gpointer data) -> GstPadProbeReturn {
            GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
            // GST_QUERY_IS_SERIALIZED, without C++20's warning on mixing enum types.
            bool serialized = guint(GST_QUERY_TYPE(q)) & guint(GST_QUERY_TYPE_SERIALIZED);
            if (!serialized ||
                (*static_cast<std::shared_ptr<std::atomic<bool>> *>(data))->load())
                return GST_PAD_PROBE_OK;
            GST_DEBUG_OBJECT(pad, "answering a %s query for a leg not connected yet",
                             GST_QUERY_TYPE_NAME(q));
            return GST_PAD_PROBE_HANDLED;
        },
        new std::shared_ptr<std::atomic<bool>>(send_open_),
        [](gpointer data) { delete static_cast<std::shared_ptr<std::atomic<bool>> *>(data); });
}

Result<void> WebrtcSession::link_tees(Sources sources) {
    std::vector<std::pair<GstElement *, const char *>> links;
    if (config_.plan.video)
        links.emplace_back(sources.video_tee, "video_sink");
    if (config_.plan.audio)
        links.emplace_back(sources.audio_tee, "audio_sink");
    for (auto [tee, ghost_name] : links) {
        auto tee_pad = Ref<GstPad>::adopt(gst_element_request_pad_simple(tee, "src_%u"));
        auto ghost = Ref<GstPad>::adopt(gst_element_get_static_pad(bin_.get(), ghost_name));
        GstPadLinkReturn ret = gst_pad_link(tee_pad.get(), ghost.get());
        guard_serialized_queries(ghost.get());
        tee_links_.push_back(TeeLink{tee, std::move(tee_pad), ghost.get()}); // the bin holds it
        if (GST_PAD_LINK_FAILED(ret))
            return duet::fail(std::string("cannot link the capture to the session: ") +
                        gst_pad_link_get_name(ret));
    }
    return {};
}

Result<void> WebrtcSession::build(GstBin *pipeline, Sources sources) {
    pipeline_ = pipeline;
    // Unique in the pipeline: a peer's previous session is removed before its next one.
    std::string name = "session-" + config_.peer_id;
    bin_ = Ref<GstElement>::adopt(gst_bin_new(name.c_str()));
    if (auto made = make_webrtcbin(); !made)
        return made;
    // Audio first, as browsers do: the first m-line carries the bundle's transport, and an
    // answerer that rejects our video (no codec in common) keeps the audio's.
    const LegPlan &plan = config_.plan;
    if (plan.audio) {
        auto linked = link_send_branch(audio_payload_description(*plan.audio),
                                       rtp_caps(codec_spec(Codec::Opus), plan.audio->pt),
                                       "audio_sink", plan.audio->twcc_ext);
        if (!linked)
            return linked;
    }
    if (plan.video) {
        auto linked = link_send_branch(video_payload_description(*plan.video, config_.send),
                                       rtp_caps(*plan.video->codec, plan.video->pt), "video_sink",
                                       plan.video->twcc_ext);
        if (!linked)
            return linked;
        if (plan.video->nack)
            enable_video_nack(webrtc_);
        enable_video_fec(webrtc_);
        carry_twcc_through_red(webrtc_, plan.video->twcc_ext);
    }
    // After our own transceivers exist: only those webrtcbin makes for the offer are narrowed.
    narrow_new_transceivers(webrtc_, config_.send.video_codec);
    // Only now, with the request pads linked, may negotiation-needed be acted upon.
    connect_signals();
    if (!gst_bin_add(pipeline, bin_.get()))
        return duet::fail("a session for this peer is still in the pipeline");
    // Running before the tees are linked: a stopped branch would answer the shared capture
    // with FLUSHING and stall every other peer's stream.
    if (!gst_element_sync_state_with_parent(bin_.get()))
        return duet::fail("cannot start webrtcbin");
    // In the pipeline and before any offer or remote offer: the chat (and control)
    // channels are part of the first negotiation.
    create_data_channels();
    if (auto linked = link_tees(sources); !linked)
        return linked;
    start_bwe();
    GST_INFO("session %s ready (%s, video %s/%s pt %u, audio pt %u)", config_.peer_id.c_str(),
             config_.offerer ? "offerer" : "answerer", video_codec().c_str(),
             video_encoder().c_str(), plan.video ? plan.video->pt : 0,
             plan.audio ? plan.audio->pt : 0);
    return {};
}

// Our video m-line was rejected: nothing will carry what the encoder makes, and what
// webrtcbin answers a push into that transceiver (an error) would travel back through the
// tee and stop the capture for every other leg. So this leg lets go of the capture.
void WebrtcSession::stop_sending_video() {
    for (auto it = tee_links_.begin(); it != tee_links_.end(); ++it)
        if (g_str_equal(GST_OBJECT_NAME(it->ghost), "video_sink")) {
            gst_pad_unlink(it->tee_pad.get(), it->ghost);
            gst_element_release_request_pad(it->tee, it->tee_pad.get());
            tee_links_.erase(it);
            break;
        }
    video_send_src_ = nullptr;
}

std::string WebrtcSession::video_codec() const {
    return config_.plan.video && !video_rejected_ ? config_.plan.video->codec->encoding_name : "";
}

std::string WebrtcSession::video_encoder() const {
    return config_.plan.video && !video_rejected_ ? config_.plan.video->encoder->element.element
                                                  : "";
}

void WebrtcSession::request_keyframe() {
    if (!video_send_src_)
        return;
    GST_DEBUG("peer %s: requesting a keyframe", config_.peer_id.c_str());
    gst_pad_send_event(video_send_src_,
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

bool WebrtcSession::remote_description_set() const {
    switch (step_) {
    case Negotiation::Stable:
        return true;
    case Negotiation::WaitingForMedia:
    case Negotiation::CreatingAnswer:
    case Negotiation::SettingLocal:
        return !config_.offerer;
    default:
        return false;
    }
}

bool WebrtcSession::local_description_sent() const {
    return step_ == Negotiation::Stable ||
           (config_.offerer &&
            (step_ == Negotiation::AwaitingAnswer || step_ == Negotiation::SettingRemote));
}

void WebrtcSession::step(Negotiation next) {
    GST_DEBUG("peer %s: negotiation %s -> %s", config_.peer_id.c_str(), negotiation_name(step_),
              negotiation_name(next));
    step_ = next;
}

void WebrtcSession::connect_signals() {
    const Hop proto{lifeline_.handle(), this};
    GClosureNotify free_hop = [](gpointer data, GClosure *) { delete static_cast<Hop *>(data); };
    // Each handler gets its own copy so each can be freed with its closure.
    auto copy = [&] { return new Hop(proto); };
    handlers_.push_back(g_signal_connect_data(webrtc_, "on-negotiation-needed",
                                              G_CALLBACK(+[](GstElement *, Hop *h) {
                                                  run_on_main(*h, [](WebrtcSession &s) {
                                                      if (s.config_.offerer &&
                                                          s.step_ == Negotiation::Idle)
                                                          s.offer_when_flowing();
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
    lifeline_.remove(bwe_timer_);
    lifeline_.cut();
    for (auto &w : rtcp_watches_)
        g_signal_handler_disconnect(w.session.get(), w.handler);
    if (resolving_)
        g_cancellable_cancel(resolving_.get());
    if (webrtc_)
        for (gulong h : handlers_)
            g_signal_handler_disconnect(webrtc_, h);
    release_data_channels();
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
    if (step_ == Negotiation::Failed)
        return;
    step(Negotiation::Failed);
    GST_WARNING("peer %s: %s", config_.peer_id.c_str(), why.c_str());
    listener_->on_failure(*this, why);
}

void WebrtcSession::create_offer() {
    step(Negotiation::CreatingOffer);
    emit_with_promise("create-offer", nullptr, &WebrtcSession::on_offer_created);
}

void WebrtcSession::on_offer_created(GstPromise *p) {
    if (promise_ok(p, "create-offer"))
        set_local_from_reply(p, "offer");
}

void WebrtcSession::create_answer() {
    step(Negotiation::CreatingAnswer);
    emit_with_promise("create-answer", nullptr, &WebrtcSession::on_answer_created);
}

void WebrtcSession::on_answer_created(GstPromise *p) {
    if (promise_ok(p, "create-answer"))
        set_local_from_reply(p, "answer");
}

void WebrtcSession::set_local_from_reply(GstPromise *p, const char *field) {
    const GstStructure *reply = gst_promise_get_reply(p);
    Owned<GstWebRTCSessionDescription> desc;
    if (reply)
        gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, desc.out(), nullptr);
    if (!desc) {
        fail(std::string("webrtcbin produced no ") + field);
        return;
    }
    local_type_ = field;
    if (!config_.offerer)
        tidy_rejected_media(desc->sdp);
    // webrtcbin keeps its own text; the remote side gets it without bundle-only m-lines.
    std::string sdp = sdp_for_wire(desc->sdp, config_.offerer);
    GST_DEBUG("peer %s: local %s:\n%s", config_.peer_id.c_str(), field, sdp.c_str());
    local_mids_ = media_mids(summarize_sdp(desc->sdp)); // the wire text keeps every mid
    step(Negotiation::SettingLocal);
    emit_with_promise("set-local-description", desc.get(), &WebrtcSession::on_local_set);
    // The SDP goes out once webrtcbin accepted it (on_local_set); keep it until then.
    pending_local_sdp_ = std::move(sdp);
}

void WebrtcSession::on_local_set(GstPromise *p) {
    if (!promise_ok(p, "set-local-description"))
        return;
    step(config_.offerer ? Negotiation::AwaitingAnswer : Negotiation::Stable);
    if (!config_.offerer)
        send_open_->store(true); // webrtcbin connected our input streams before replying
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
    Negotiation expected = config_.offerer ? Negotiation::AwaitingAnswer : Negotiation::Idle;
    if (step_ != expected) {
        GST_WARNING("peer %s: ignoring a %s while %s", config_.peer_id.c_str(), type.c_str(),
                    negotiation_name(step_));
        return;
    }
    GST_DEBUG("peer %s: remote %s:\n%s", config_.peer_id.c_str(), type.c_str(), sdp.c_str());
    GstSDPMessage *raw = nullptr;
    gst_sdp_message_new(&raw);
    if (sdp.empty() || gst_sdp_message_parse_buffer(reinterpret_cast<const guint8 *>(sdp.data()),
                                     guint(sdp.size()), raw) != GST_SDP_OK ||
        gst_sdp_message_medias_len(raw) == 0) {
        gst_sdp_message_free(raw);
        fail("the remote " + type + " is not usable SDP");
        return;
    }
    SdpSummary summary = summarize_sdp(raw);
    remote_author_ = summary.author;
    video_rejected_ = !is_offer && config_.plan.video && !summary.first("video");
    // RED/ULPFEC are used when the remote side's description has them: an answer only
    // does when our offer did, and webrtcbin answers them only when the offer had them.
    const SdpMedia *video = summary.first("video");
    video_fec_ = config_.plan.video && video && video->has_red_ulpfec();
    if (video_fec_)
        video_pts_->red = int(*video->pt_of("red"));
    remote_dtx_ = false;
    if (const SdpMedia *audio = summary.first("audio"))
        for (const auto &f : audio->formats)
            if (g_ascii_strcasecmp(f.encoding.c_str(), "opus") == 0) {
                remote_dtx_ = f.usedtx;
                break;
            }
    GST_INFO("peer %s: video FEC %s, remote asks for Opus DTX: %s", config_.peer_id.c_str(),
             video_fec_ ? "red+ulpfec" : "none", remote_dtx_ ? "yes" : "no");
    // The description takes the message over.
    Owned<GstWebRTCSessionDescription> desc(gst_webrtc_session_description_new(
        is_offer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, raw));
    step(Negotiation::SettingRemote);
    emit_with_promise("set-remote-description", desc.get(), &WebrtcSession::on_remote_set);
}

void WebrtcSession::on_remote_set(GstPromise *p) {
    if (!promise_ok(p, "set-remote-description"))
        return;
    if (config_.offerer) {
        step(Negotiation::Stable);
        send_open_->store(true); // webrtcbin connected our input streams before replying
        flush_remote_candidates();
        if (video_rejected_) {
            stop_sending_video();
            g_warning("peer %s does not take our video in %s (its answer rejected it): the "
                      "call goes on without video",
                      config_.peer_id.c_str(), config_.plan.video->codec->encoding_name);
            listener_->on_video_rejected(*this, config_.plan.video->codec->encoding_name);
        }
        return;
    }
    step(Negotiation::WaitingForMedia);
    flush_remote_candidates();
    // webrtcbin 1.22 answers from what its sink pads have seen (caps with the SSRC). An
    // answer written before the first packets reached it left the browser without our
    // media in about one call in three (tests/peer-browser, both orders with the browser
    // offering). The DTLS key generation used to hide that (call_pipeline.cpp warms it up
    // now), so wait for both payloaders' first packet: at most one frame (20-33 ms) once
    // the encoders run. Waiting for the caps alone was not enough.
    if (send_pending_ == 0)
        create_answer();
}

void WebrtcSession::on_send_flowing() {
    if (send_pending_ == 0 || --send_pending_ > 0)
        return;
    if (step_ == Negotiation::WaitingForMedia)
        create_answer();
    else if (offer_wanted_ && step_ == Negotiation::Idle)
        create_offer();
}

// The offer, too, waits for both payloaders' first packet (at most a frame once the
// encoders run): only then does webrtcbin know our SSRCs and name them in the offer, with
// the RTX SSRC beside each (a=ssrc-group:FID). Chromium takes retransmissions on an SSRC
// nobody named only for the codec's own RTX payload type: with RED negotiated they come
// as RED's RTX, which it then dropped, so every lost packet was asked for again and
// again and the picture froze (tests/peer-browser/fec.test.mjs, duet-peer offering).
void WebrtcSession::offer_when_flowing() {
    if (send_pending_ == 0)
        create_offer();
    else
        offer_wanted_ = true;
}

} // namespace duet::pipelines
