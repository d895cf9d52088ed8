// SPDX-License-Identifier: MIT
// Wires room logic, signaling, call legs and the pipeline together; owns shutdown order.
#include "src/peer/peer_app.h"

#include "common/main_thread.h"
#include "pipelines/codec_choice.h"
#include "pipelines/sdp_util.h"
#include "src/peer/ice_servers.h"
#include "src/peer/startup.h"

#include <algorithm>
#include <malloc.h>

namespace duet::peer {
namespace {

// How long exit waits for the WebM muxer to write its index after the last EOS. Seconds
// of buffered media flush in well under this; a wedged filesystem must not hang exit.
constexpr unsigned kFinalizeTimeoutMs = 3000;

// We take our seat in the room only once a call can start at once (see join_when_ready).
// The wait is for a one-off RSA key, 0.05-1.5 s; past this, something is wrong with the
// machine, and being seen in the room matters more than a fast first frame.
constexpr unsigned kMaxWarmWaitMs = 3000;

// Calls held at once. duet-server admits two people per room by default (one call); this
// bounds what a misconfigured or hostile server could make us build (a webrtcbin each).
constexpr std::size_t kMaxLegs = 8;
// Quiet after the last call ended before freed memory is handed back (malloc_trim): long
// enough that churn does not trim after every leg, short next to a settling check.
constexpr guint kTrimAfterMs = 500;

// A leg writes its answer within a frame or two of its offer; one that has not after this
// long is stuck, and a newer offer from the same peer replaces it at once.
constexpr gint64 kMaxAnswerUs = 10 * G_USEC_PER_SEC;

// Our own signaling stays within half of duet-server's default limit (50 messages/s, a
// burst of 200; more closes the socket with 1008). A leg sends its answer and a handful of
// candidates (4-5 on loopback, a dozen or two on a multi-homed box): answering a member who
// offers every 22 ms sent ~80/s and got us thrown out. So a new answering leg starts only
// when this budget has room for one.
constexpr double kSendPerSecond = 25;
constexpr double kSendBurst = 100;
constexpr double kMessagesPerLeg = 20;

} // namespace

PeerApp::PeerApp(PeerOptions options, std::unique_ptr<Signaler> signaler, EventWriter &events)
    : options_(std::move(options)), signaler_(std::move(signaler)), events_(events),
      logic_(options_.room), send_budget_(kSendPerSecond, kSendBurst) {}

PeerApp::~PeerApp() {
    lifeline_.cut();
    for (guint *t :
         {&duration_timer_, &finalize_timer_, &stats_timer_, &warm_wait_timer_, &trim_timer_})
        lifeline_.remove(*t);
    pending_offers_.clear();
    // Legs reference the pipeline: they go first.
    legs_.clear();
    pipeline_.reset();
}

bool PeerApp::start() {
    auto prepared = prepare(options_, this);
    if (!prepared) {
        g_warning("%s", prepared.message().c_str());
        events_.emit(events::error(prepared.error().code, prepared.message()));
        exit_code_ = kExitFailure;
        return false;
    }
    media_ = prepared->media;
    encoders_ = prepared->encoders;
    pipeline_ = std::move(prepared->pipeline);
    seat_ = std::move(prepared->seat);
    saved_token_ = prepared->saved_token;
    if (!saved_token_.empty())
        logic_.set_resume_token(saved_token_);
    g_message("duet-peer: room '%s' on %s, sending %s video and %s audio, sink %s",
              options_.room.c_str(), options_.server.c_str(), media_.camera ? "camera" : "test",
              media_.mic ? "microphone" : "test", pipelines::sink_mode_name(media_.sink));
    if (options_.duration_s > 0)
        duration_timer_ = lifeline_.add_timeout_seconds(
            guint(options_.duration_s),
            [](gpointer self) -> gboolean {
                auto *app = static_cast<PeerApp *>(self);
                app->duration_timer_ = 0;
                app->shutdown(kExitOk, "--duration reached");
                return G_SOURCE_REMOVE;
            },
            this);
    if (events_.enabled() && options_.stats_interval_ms > 0)
        stats_timer_ = lifeline_.add_timeout(
            guint(options_.stats_interval_ms),
            [](gpointer self) -> gboolean {
                static_cast<PeerApp *>(self)->emit_stats();
                return G_SOURCE_CONTINUE;
            },
            this);
    warm_wait_timer_ = lifeline_.add_timeout(
        kMaxWarmWaitMs,
        [](gpointer self) -> gboolean {
            auto *app = static_cast<PeerApp *>(self);
            app->warm_wait_timer_ = 0;
            app->warm_wait_over_ = true;
            g_warning("the media pipeline is not ready after %u ms; joining anyway",
                      kMaxWarmWaitMs);
            app->join_when_ready();
            return G_SOURCE_REMOVE;
        },
        this);
    // Connecting to the server overlaps the warm-up; only the join waits for it.
    enter(Phase::Connecting);
    signaler_->start(this);
    return true;
}

// ---- signaling ----

void PeerApp::on_signaler_open() {
    if (leaving())
        return;
    enter(Phase::AwaitingWarmth);
    join_when_ready();
}

// Whoever is in the room sees us arrive when we join, and the newcomer offers at once. The
// first offer of a process cannot be written before its DTLS key exists (dtlsdec makes an
// RSA-2048 key once per process), so a peer that joined straight after starting kept the
// other side looking at a "connecting" call for that long. Waiting here instead makes our
// arrival mean a call that starts now; the time from our start to the first frame is the
// same, since the call would have waited for the key anyway.
void PeerApp::join_when_ready() {
    if (phase_ != Phase::AwaitingWarmth || !pipeline_)
        return;
    if (!pipeline_->warm() && !warm_wait_over_) {
        g_debug("connected to the server; joining once the media pipeline is warm");
        return;
    }
    enter(Phase::Joined);
    proto::Join join = logic_.join_message();
    g_info("joining room '%s'%s", join.room.c_str(), join.resume ? " (resuming our seat)" : "");
    signaler_->send(proto::ClientMessage{join});
}

void PeerApp::on_signaler_message(const proto::ServerMessage &msg) {
    if (leaving())
        return;
    auto actions = logic_.on_message(msg, *this);
    // On disk before the `joined` event is printed: whoever reads the event (a supervisor
    // about to restart us, a test) can rely on the seat being kept.
    if (seat_ && logic_.joined() && logic_.resume_token() != saved_token_) {
        saved_token_ = logic_.resume_token();
        seat_->save(saved_token_);
    }
    apply(std::move(actions));
}

void PeerApp::on_signaler_lost(const std::string &why) {
    if (!leaving())
        enter(Phase::Connecting); // the next open joins
    // Media keeps flowing: webrtcbin does not need the server once connected.
    logic_.on_disconnected();
    g_message("signaling lost (%s); %zu call(s) continue while reconnecting", why.c_str(),
              legs_.size());
}

void PeerApp::on_signaler_retry(unsigned attempt, unsigned delay_ms) {
    events_.emit(events::reconnecting(attempt, delay_ms));
}

void PeerApp::on_signaler_fatal(const std::string &why) {
    events_.emit(events::error("signaling", why));
    shutdown(kExitFailure, why);
}

void PeerApp::on_signaler_replaced(const std::string &why) {
    // The token now belongs to the other connection; a restart of ours must not take the
    // seat back from it.
    if (seat_)
        seat_->clear();
    saved_token_.clear();
    events_.emit(events::error("replaced", why));
    shutdown(kExitFailure, why);
}

void PeerApp::apply(std::vector<Action> actions) {
    for (auto &a : actions) {
        if (leaving())
            return;
        if (auto *o = std::get_if<action::Offer>(&a)) {
            pending_offers_.drop(o->peer);
            close_leg(o->peer);
            open_offering_leg(o->peer);
        } else if (auto *an = std::get_if<action::Answer>(&a)) {
            // One leg in construction per peer: while one is answering, the newest offer
            // waits for it (an older waiting one is dropped), so a peer that offers faster
            // than we answer costs one leg at a time (issue 11).
            if (unsigned wait_ms = ms_until_leg_may_start(an->peer)) {
                g_debug("offer from %s while answering its previous one (or short of signaling "
                        "budget): it waits its turn",
                        an->peer.c_str());
                pending_offers_.hold(an->peer, an->sdp, wait_ms);
                continue;
            }
            pending_offers_.drop(an->peer);
            answer_offer(an->peer, an->sdp, {});
        } else if (auto *aa = std::get_if<action::ApplyAnswer>(&a)) {
            auto it = legs_.find(aa->peer);
            if (it != legs_.end())
                it->second.session->apply_remote_description("answer", aa->sdp);
        } else if (auto *c = std::get_if<action::AddCandidate>(&a)) {
            if (pending_offers_.add_candidate(c->peer, c->candidate))
                continue;
            auto it = legs_.find(c->peer);
            if (it != legs_.end())
                it->second.session->add_remote_candidate(c->candidate.mline_index,
                                                         c->candidate.candidate);
        } else if (auto *cl = std::get_if<action::Close>(&a)) {
            pending_offers_.drop(cl->peer);
            close_leg(cl->peer);
        } else if (auto *e = std::get_if<action::Emit>(&a)) {
            events_.emit(e->event);
        } else if (auto *x = std::get_if<action::Exit>(&a)) {
            shutdown(x->code, x->message);
        }
    }
}

// ---- legs ----

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
    legs_.erase(it); // ~WebrtcSession unlinks from the capture, then stops
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
        events_.emit(
            events::stats(leg.stats.sample(peer, pipelines::peer_state_name(leg.session->state()),
                                           c.video_frames.load(std::memory_order_relaxed),
                                           c.audio_buffers.load(std::memory_order_relaxed), now)));
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

void PeerApp::on_first_frame(pipelines::WebrtcSession &s, pipelines::MediaKind kind) {
    events_.emit(events::first_frame(pipelines::media_kind_name(kind), s.peer_id()));
}

void PeerApp::on_video_rejected(pipelines::WebrtcSession &s, const std::string &codec) {
    events_.emit(events::error("no-common-video-codec",
                               "the peer does not take our video: offered " + codec, s.peer_id())
                     .with("offered", std::vector<std::string>{codec}));
}

void PeerApp::on_failure(pipelines::WebrtcSession &s, const std::string &why) {
    events_.emit(events::error("session-failed", why, s.peer_id()));
    close_leg_soon(s, why);
}

bool PeerApp::wants_recording(pipelines::WebrtcSession &, pipelines::MediaKind kind) {
    auto *rec = pipeline_ ? pipeline_->recorder() : nullptr;
    return rec && rec->wants(kind);
}

void PeerApp::on_record_pad(pipelines::WebrtcSession &, pipelines::MediaKind kind, GstPad *pad) {
    if (auto *rec = pipeline_->recorder())
        rec->attach(kind, pad);
}

void PeerApp::on_pipeline_warm() {
    g_info("media pipeline warm (DTLS key made, call plugins loaded)");
    lifeline_.remove(warm_wait_timer_);
    join_when_ready();
}

void PeerApp::on_pipeline_error(GstObject *src, const std::string &message,
                                const std::string &debug) {
    g_debug("pipeline error details: %s", debug.c_str());
    if (!pipeline_ || !pipeline_->contains(src)) {
        // Posted by a leg that has been torn down since (e.g. a queue that found its
        // recorder link gone on the way out): nothing left to act on.
        g_debug("ignoring an error from a removed element: %s", message.c_str());
        return;
    }
    for (auto &[peer, leg] : legs_) {
        if (leg.session->owns(src)) {
            g_warning("call with %s: %s (from %s)", peer.c_str(), message.c_str(),
                      GST_OBJECT_NAME(src));
            if (!leaving()) {
                events_.emit(events::error("session-failed", message, peer));
                close_leg_soon(*leg.session, message);
            }
            return;
        }
    }
    if (leaving())
        return;
    // The capture/encode part or the recorder: without them there is no call to hold.
    std::string text =
        std::string("media pipeline failed in ") + GST_OBJECT_NAME(src) + ": " + message;
    events_.emit(events::error("media", text));
    shutdown(kExitFailure, text);
}

// ---- shutdown: leave, close the socket, end the legs, finalise the file, stop ----

void PeerApp::shutdown(int exit_code, const std::string &why) {
    if (leaving())
        return;
    bool signaling_started = phase_ != Phase::Starting;
    enter(Phase::ShuttingDown);
    exit_code_ = exit_code;
    if (!why.empty()) {
        if (exit_code == kExitOk)
            g_message("leaving: %s", why.c_str());
        else
            g_warning("leaving: %s", why.c_str());
    }
    if (!signaling_started) {
        after_signaler_closed();
        return;
    }
    // `leave` tells the other side at once (peer-left reason "left"), and the close
    // handshake after it lets the server free our seat without a resume grace period.
    if (logic_.joined()) {
        signaler_->send(proto::ClientMessage{proto::Leave{}});
        if (seat_)
            seat_->clear(); // the seat is given up; nothing to resume next time
    }
    signaler_->close(lifeline_.guard([this] { after_signaler_closed(); }));
}

void PeerApp::after_signaler_closed() {
    pending_offers_.clear();
    // Ending the legs detaches them from the recorder, which ends its tracks.
    while (!legs_.empty())
        close_leg(legs_.begin()->first);
    auto *rec = pipeline_ ? pipeline_->recorder() : nullptr;
    if (!rec) {
        finish();
        return;
    }
    rec->finish(lifeline_.guard([this] { finish(); }));
    finalize_timer_ = lifeline_.add_timeout(
        kFinalizeTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *app = static_cast<PeerApp *>(self);
            app->finalize_timer_ = 0;
            g_warning("the recording was not finalised within %u ms; it may lack its index",
                      kFinalizeTimeoutMs);
            app->finish();
            return G_SOURCE_REMOVE;
        },
        this);
}

void PeerApp::finish() {
    if (phase_ == Phase::Finished)
        return;
    lifeline_.remove(stats_timer_);
    lifeline_.remove(finalize_timer_);
    legs_.clear();
    pipeline_.reset();
    enter(Phase::Finished);
    if (on_finished_)
        on_finished_();
}

const char *PeerApp::phase_name(Phase p) {
    switch (p) {
    case Phase::Starting:
        return "starting";
    case Phase::Connecting:
        return "connecting";
    case Phase::AwaitingWarmth:
        return "awaiting-warmth";
    case Phase::Joined:
        return "joined";
    case Phase::ShuttingDown:
        return "shutting-down";
    case Phase::Finished:
        return "finished";
    }
    return "?";
}

void PeerApp::enter(Phase next) {
    if (next == phase_)
        return;
    g_debug("peer: %s -> %s", phase_name(phase_), phase_name(next));
    phase_ = next;
}

} // namespace duet::peer
