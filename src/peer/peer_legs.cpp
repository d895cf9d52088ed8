// SPDX-License-Identifier: MIT
// PeerApp's call legs: answering and offering with the right codecs, holding offers that
// wait their turn, closing legs, and what each WebrtcSession reports.
#include "src/peer/peer_app.h"

#include "pipelines/codec_choice.h"
#include "pipelines/sdp_util.h"
#include "src/peer/ice_servers.h"

#include <algorithm>
#include <malloc.h>

namespace duet::peer {
namespace {

// Calls held at once. duet-server admits two people per room by default (one call); this
// bounds what a misconfigured or hostile server could make us build (a webrtcbin each).
constexpr std::size_t kMaxLegs = 8;
// Quiet after the last call ended before freed memory is handed back (malloc_trim): long
// enough that churn does not trim after every leg, short next to a settling check.
constexpr guint kTrimAfterMs = 500;

// A leg writes its answer within a frame or two of its offer; one that has not after this
// long is stuck, and a newer offer from the same peer replaces it at once.
constexpr gint64 kMaxAnswerUs = 10 * G_USEC_PER_SEC;

} // namespace

void PeerApp::answer_offer(const std::string &peer, const std::string &sdp,
                           const std::vector<proto::CandidateData> &candidates) {
    if (legs_.count(peer))
        g_info("new offer from %s: replacing its call with a fresh one", peer.c_str());
    close_leg(peer);
    auto offer = pipelines::parse_sdp(sdp);
    if (!offer) {
        g_warning("offer from %s is not usable: %s", peer.c_str(), offer.message().c_str());
        events_.emit(events::error("incompatible-offer", "the offer is " + offer.message(), peer));
        return;
    }
    auto plan = pipelines::plan_answer(offer.value(), options_.media.video_codec, encoders_);
    if (!plan.video && !plan.audio) {
        g_warning("offer from %s has no codec we can use; cannot answer", peer.c_str());
        events_.emit(events::error("incompatible-offer", "the offer has no codec we can use", peer)
                         .with("offered", plan.refused_video));
        return;
    }
    if (!plan.video && offer.value().first("video")) {
        // Rejected in the answer (port 0), so the sender stops instead of encoding for
        // nobody; audio goes on.
        std::string offered;
        for (const auto &c : plan.refused_video)
            offered += (offered.empty() ? "" : ", ") + c;
        g_warning("%s offers video in %s only, none of which we send with --video-codec %s: "
                  "the call goes on without video",
                  peer.c_str(), offered.c_str(),
                  pipelines::video_codec_pref_name(options_.media.video_codec));
        events_.emit(events::error("no-common-video-codec",
                                   "no video codec in common: offered " + offered, peer)
                         .with("offered", plan.refused_video));
    }
    if (!open_leg(peer, false, std::move(plan)))
        return;
    Leg &leg = legs_[peer];
    leg.answering = true;
    leg.session->apply_remote_description("offer", sdp);
    update_audio_dtx();
    for (const auto &c : candidates)
        leg.session->add_remote_candidate(c.mline_index, c.candidate);
}

bool PeerApp::answering(const std::string &peer) const {
    auto it = legs_.find(peer);
    return it != legs_.end() && it->second.answering &&
           g_get_monotonic_time() - it->second.started_us < kMaxAnswerUs;
}

unsigned PeerApp::ms_until_stuck(const std::string &peer) const {
    auto it = legs_.find(peer);
    gint64 since = it == legs_.end() ? 0 : g_get_monotonic_time() - it->second.started_us;
    return unsigned(std::clamp<gint64>(kMaxAnswerUs - since, 0, kMaxAnswerUs) / 1000 + 1);
}

// A waiting offer's timer: it fires when the budget has room again, or when the leg being
// built counts as stuck (kMaxAnswerUs after it started), so the offer gets its turn even if
// that leg never answers.
void PeerApp::on_offer_due(const std::string &peer) {
    if (unsigned wait_ms = ms_until_leg_may_start(peer))
        pending_offers_.rearm(peer, wait_ms); // a newer leg, or the budget: wait for it
    else
        answer_pending_now(peer);
}

unsigned PeerApp::ms_until_leg_may_start(const std::string &peer) {
    unsigned budget_ms = send_budget_.ms_until(g_get_monotonic_time(), kMessagesPerLeg);
    return std::max(answering(peer) ? ms_until_stuck(peer) : 0u, budget_ms);
}

void PeerApp::answer_pending_now(const std::string &peer) {
    if (leaving())
        return;
    auto offer = pending_offers_.take(peer);
    if (!offer)
        return;
    g_debug("the newest offer from %s waited for the previous answer; its turn now", peer.c_str());
    answer_offer(peer, offer->sdp, offer->candidates);
}

void PeerApp::answer_pending_soon(const std::string &peer) {
    if (!pending_offers_.waiting(peer))
        return;
    // From the main loop: this runs after a session callback, which must not see its own
    // session replaced under it.
    lifeline_.post([this, peer] { on_offer_due(peer); });
}

bool PeerApp::open_offering_leg(const std::string &peer) {
    // Checked at startup, so it does not fail here.
    auto plan = pipelines::plan_offer(options_.media.video_codec, encoders_);
    return plan && open_leg(peer, true, std::move(plan).value());
}

bool PeerApp::open_leg(const std::string &peer, bool offerer, pipelines::LegPlan plan) {
    pipelines::SessionConfig cfg;
    cfg.peer_id = peer;
    cfg.offerer = offerer;
    cfg.plan = std::move(plan);
    cfg.send = options_.media;
    cfg.latency_ms = options_.media.latency_ms;
    cfg.media = media_;
    IceConfig ice = parse_ice_servers(logic_.ice_servers_json());
    // Our own flags come first: webrtcbin takes one STUN server, and a local TURN server
    // is the one the operator chose for this machine.
    cfg.stun_server = options_.stun.empty() ? ice.stun : options_.stun;
    cfg.turn_servers = options_.turns;
    cfg.turn_servers.insert(cfg.turn_servers.end(), ice.turns.begin(), ice.turns.end());
    cfg.relay_only = options_.relay_only;
    cfg.control_channel = options_.control != PeerOptions::Control::None;
    if (cfg.relay_only && cfg.turn_servers.empty())
        g_warning("--relay-only but no TURN server (neither --turn nor from the server): the "
                  "call with %s cannot connect",
                  peer.c_str());
    if (!legs_.count(peer) && legs_.size() >= kMaxLegs) {
        std::string why = "already " + std::to_string(legs_.size()) + " calls, the most we hold";
        g_warning("not starting a call with %s: %s", peer.c_str(), why.c_str());
        events_.emit(events::error("session-failed", why, peer));
        return false;
    }
    auto session = pipelines::WebrtcSession::create(pipeline_->bin(), pipeline_->sources(),
                                                    std::move(cfg), this);
    if (!session) {
        g_warning("cannot start a call with %s: %s", peer.c_str(), session.message().c_str());
        events_.emit(events::error("session-failed", session.message(), peer));
        return false;
    }
    g_info("%s %s", offerer ? "offering to" : "answering", peer.c_str());
    gint64 now = g_get_monotonic_time();
    legs_[peer] = Leg{std::move(session).value(), false, LegStats(now), false, now};
    update_audio_dtx(); // a call whose remote has not asked for DTX (yet) turns it off
    return true;
}

void PeerApp::close_leg(const std::string &peer) {
    auto it = legs_.find(peer);
    if (it == legs_.end())
        return;
    if (auto *rec = pipeline_ ? pipeline_->recorder() : nullptr)
        for (GstPad *pad : it->second.session->record_pads())
            rec->detach(pad);
    g_info("closing the call with %s", peer.c_str());
    Ref<GstPad> speaker_pad = std::move(it->second.speaker_pad);
    legs_.erase(it); // ~WebrtcSession unlinks from the capture, then stops
    update_audio_dtx();
    // The session's bin is gone, and with it the link: the mixer's pad can go too.
    if (pipeline_)
        pipeline_->unplay(speaker_pad);
    // Each leg encodes on threads of its own, and glibc keeps what those threads freed in
    // per-thread arenas: after 500 legs of churn RSS stayed 20 MB up (with one arena,
    // +0.8 MB). A kiosk runs for months, so once calls have stopped ending for a moment the
    // free memory goes back to the system.
    lifeline_.remove(trim_timer_);
    trim_timer_ = lifeline_.add_timeout(
        kTrimAfterMs,
        [](gpointer data) {
            static_cast<PeerApp *>(data)->trim_timer_ = 0;
            malloc_trim(0);
            return G_SOURCE_REMOVE;
        },
        this);
}

void PeerApp::close_leg_soon(const pipelines::WebrtcSession &session, const std::string &why) {
    std::string peer = session.peer_id();
    const pipelines::WebrtcSession *which = &session;
    // Never destroy a session from inside one of its own callbacks.
    lifeline_.post([this, peer, which, why] {
        auto it = legs_.find(peer);
        if (it != legs_.end() && it->second.session.get() == which) {
            g_message("call with %s ended: %s", peer.c_str(), why.c_str());
            close_leg(peer);
            answer_pending_soon(peer); // a newer offer that waited for this leg
        }
    });
}

LegStatus PeerApp::status(const std::string &peer) const {
    auto it = legs_.find(peer);
    if (it == legs_.end())
        return LegStatus::None;
    switch (it->second.session->state()) {
    case pipelines::PeerState::Connected:
        return LegStatus::Connected;
    case pipelines::PeerState::Failed:
    case pipelines::PeerState::Closed:
        return LegStatus::Broken;
    default:
        return LegStatus::Negotiating;
    }
}

std::vector<std::string> PeerApp::peers() const {
    std::vector<std::string> out;
    for (const auto &[id, leg] : legs_)
        out.push_back(id);
    return out;
}

void PeerApp::send_signal(const std::string &to, const proto::SignalData &data) {
    send_budget_.spend(g_get_monotonic_time());
    signaler_->send(proto::ClientMessage{proto::Signal{to, proto::to_json(data)}});
}

void PeerApp::emit_stats() {
    if (leaving())
        return;
    gint64 now = g_get_monotonic_time();
    for (auto &[peer, leg] : legs_) {
        const auto &c = leg.session->counters();
        events::ReceiveStats st =
            leg.stats.sample(peer, pipelines::peer_state_name(leg.session->state()),
                             c.video_frames.load(std::memory_order_relaxed),
                             c.audio_buffers.load(std::memory_order_relaxed), now);
        st.fec_recovered = leg.session->fec_recovered();
        const pipelines::SendFigures &f = leg.session->send_figures();
        if (f.target_kbps > 0 && !leg.session->video_codec().empty()) {
            st.sends_video = true;
            st.send_kbps = f.target_kbps;
            st.sent_kbps = f.sent_kbps;
            st.send_loss = f.loss;
            st.rtt_ms = f.rtt_ms;
            st.send_width = f.width;
            st.send_height = f.height;
            st.send_fps = f.fps;
            st.twcc = f.twcc;
            st.acked_kbps = f.acked_kbps;
            st.queue_ms = f.queue_ms;
            st.delay_trend = f.delay_trend;
            st.send_fec = f.fec_percent;
        }
        events_.emit(events::stats(st));
    }
}

void PeerApp::on_local_description(pipelines::WebrtcSession &s, const std::string &type,
                                   const std::string &sdp) {
    g_debug("sending %s to %s", type.c_str(), s.peer_id().c_str());
    send_signal(s.peer_id(), proto::SdpData{type, sdp});
    auto it = legs_.find(s.peer_id());
    if (type == "answer" && it != legs_.end() && it->second.session.get() == &s) {
        it->second.answering = false;
        answer_pending_soon(s.peer_id());
    }
}

void PeerApp::on_local_candidate(pipelines::WebrtcSession &s, unsigned mline,
                                 const std::string &mid, const std::string &candidate) {
    send_signal(s.peer_id(), proto::CandidateData{candidate, mline, mid});
}

void PeerApp::on_state(pipelines::WebrtcSession &s, pipelines::PeerState state) {
    auto it = legs_.find(s.peer_id());
    if (it == legs_.end() || it->second.session.get() != &s)
        return;
    if (state == pipelines::PeerState::Connected && !it->second.announced_connected) {
        it->second.announced_connected = true;
        events_.emit(events::connected(s.peer_id(), s.video_codec(), s.video_encoder()));
        // A keyframe at once: decoding starts on one, and a frame lost while connecting
        // would otherwise freeze the picture until the receiver asks.
        s.request_keyframe();
    } else if (state == pipelines::PeerState::Failed) {
        // webrtcbin 1.22 cannot restart ICE; the leg is over. A new offer (the peer
        // rejoining, or our own after a signaling resume) starts a fresh one.
        events_.emit(events::error("connection-failed", "ICE/DTLS connection failed", s.peer_id()));
        close_leg_soon(s, "connection failed");
    }
}

void PeerApp::on_latency(pipelines::WebrtcSession &s, int latency_ms, double jitter_ms) {
    events_.emit(events::latency(s.peer_id(), latency_ms, jitter_ms));
}

void PeerApp::on_first_frame(pipelines::WebrtcSession &s, pipelines::MediaKind kind) {
    events_.emit(events::first_frame(pipelines::media_kind_name(kind), s.peer_id()));
}

void PeerApp::on_video_rejected(pipelines::WebrtcSession &s, const std::string &codec) {
    events_.emit(events::error("no-common-video-codec",
                               "the peer does not take our video: offered " + codec, s.peer_id())
                     .with("offered", std::vector<std::string>{codec}));
}

void PeerApp::on_send_report(pipelines::WebrtcSession &) {
    // One Opus encoder serves every call: its FEC is planned for the worst path.
    double worst = 0;
    for (const auto &[id, leg] : legs_)
        worst = std::max(worst, leg.session->send_figures().loss);
    if (pipeline_)
        pipeline_->set_audio_loss(worst);
}

void PeerApp::update_audio_dtx() {
    std::vector<bool> asks;
    for (const auto &[id, leg] : legs_)
        asks.push_back(leg.session->remote_wants_dtx());
    if (pipeline_)
        pipeline_->set_audio_dtx(pipelines::opus_dtx_wanted(asks));
}

void PeerApp::on_failure(pipelines::WebrtcSession &s, const std::string &why) {
    events_.emit(events::error("session-failed", why, s.peer_id()));
    close_leg_soon(s, why);
}

void PeerApp::on_play_pad(pipelines::WebrtcSession &s, GstPad *pad) {
    auto it = legs_.find(s.peer_id());
    if (it != legs_.end() && it->second.session.get() == &s)
        it->second.speaker_pad = pipeline_->play(pad);
}

bool PeerApp::wants_recording(pipelines::WebrtcSession &, pipelines::MediaKind kind) {
    auto *rec = pipeline_ ? pipeline_->recorder() : nullptr;
    return rec && rec->wants(kind);
}

void PeerApp::on_record_pad(pipelines::WebrtcSession &, pipelines::MediaKind kind, GstPad *pad) {
    if (auto *rec = pipeline_->recorder())
        rec->attach(kind, pad);
}

} // namespace duet::peer
